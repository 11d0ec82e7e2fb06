"""CLI sub-commands: one module per command group, each with ``register(subparsers)``.

A module registers its parser and sets ``func`` (called with the parsed arguments; returns the
exit status). Listed in :data:`COMMAND_MODULES` so that the CLI imports only what exists.
Commands of the layers above (``coastcast serve``, :mod:`webapp.commands`) come in through the
``coastcast.commands`` entry points, so that ``workflows`` never imports ``webapp``.
"""

COMMAND_MODULES = ("demo", "run", "mesh", "tides", "validate", "scheduler", "compile")

ENTRY_POINT_GROUP = "coastcast.commands"
"""Entry points ``name = "module:register"`` adding commands from other packages (pyproject.toml)."""
