"""CLI sub-commands: one module per command group, each with ``register(subparsers)``.

A module registers its parser and sets ``func`` (called with the parsed arguments; returns the
exit status). Listed in :data:`COMMAND_MODULES` so that the CLI imports only what exists.
"""

COMMAND_MODULES = ("demo", "run", "mesh", "tides", "validate", "serve", "scheduler")
