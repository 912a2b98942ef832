"""The exception tree. Every error tierwise raises on purpose is a ``TierwiseError``.

    TierwiseError
    ├── ConfigError            a policy or catalog file is invalid (names file, field, reason)
    │   ├── PolicyError
    │   └── CatalogError
    ├── InputError             a request or argument cannot be routed as given
    │   ├── EmptyPromptError
    │   ├── PromptTooLargeError
    │   ├── UnknownTaskTypeError
    │   ├── UnknownTierError
    │   ├── UnknownAliasError  a request's model is neither a routing alias nor a claude-* id
    │   └── InvalidUsageError  a token count is negative or not an integer
    ├── PricingError
    │   ├── UnknownModelError  the model id is not in the catalog
    │   └── UnknownPriceError  the catalog marks a needed price as unknown
    └── StoreError             the decision store cannot be opened, migrated or written

Third-party errors (pydantic, tomllib, OSError, SQLAlchemy) are translated once, where files are
loaded or the store is reached.
The CLI turns any ``TierwiseError`` into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations


class TierwiseError(Exception):
    """Base of every error raised on purpose by tierwise."""


class ConfigError(TierwiseError):
    """A configuration file (policy or catalog) cannot be used."""


class PolicyError(ConfigError):
    """The policy file is invalid: the message names the file, the field and the reason."""


class CatalogError(ConfigError):
    """The model catalog (shipped or user-supplied) is invalid."""


class InputError(TierwiseError, ValueError):
    """A request or argument cannot be routed as given."""


class EmptyPromptError(InputError):
    """There is no text to route."""


class PromptTooLargeError(InputError):
    """The prompt is larger than the configured limit."""


class UnknownTaskTypeError(InputError):
    """A task type hint names no route in the policy."""


class UnknownTierError(InputError):
    """A tier name is not one of the ladder's tiers."""


class UnknownAliasError(InputError):
    """A request names a model that is neither a routing alias (``auto``) nor a ``claude-*`` id."""


class InvalidUsageError(InputError):
    """A usage object has a negative or non-integer token count."""


class PricingError(TierwiseError):
    """A cost cannot be computed."""


class UnknownModelError(PricingError, KeyError):
    """The model id is not in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown model"


class UnknownPriceError(PricingError):
    """The catalog marks a price this usage needs as unknown; tierwise never guesses one."""


class StoreError(TierwiseError):
    """The decision store cannot be used: a bad database URL, an unreachable or failing database.

    The recorder never lets it reach a request: a batch the store refuses is spooled to disk.
    """
