"""``python -m tierwise.cli``: the same as the ``tierwise`` command."""

from tierwise.cli import main

main()
