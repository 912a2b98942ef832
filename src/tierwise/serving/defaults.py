"""Default settings, in a module with no imports so the CLI can show them for free."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_MAX_BODY_MB = 32
