"""Schema migrations of the forecast-service database (Alembic), shipped inside the package.

The migration environment (``env.py``) and the revisions (``versions/NNNN_*.py``) install with
coastcast, so no ``alembic.ini`` is needed in the working directory: :func:`alembic_config` builds
the configuration in code and :func:`workflows.db.init_db` drives it. Revisions are written by hand
(``op.create_table``, ``op.add_column``, ...) so that each works on SQLite and PostgreSQL.

A developer who changed the models in :mod:`workflows.db` drafts the next revision with::

    python -m workflows.migrations revision "users: a session counter"

which upgrades a scratch SQLite database to the current head, compares it with the models and
writes ``versions/NNNN_<slug>.py`` (docs/development.md, "Changing the database schema").
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent
#: the revision that is the schema as created by ``Base.metadata.create_all`` before migrations
BASELINE = "0001"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for the shipped environment, bound to ``connection`` (or ``url``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


SCRIPTS_CACHE: list[ScriptDirectory] = []


def script_directory() -> ScriptDirectory:
    """The revisions shipped with coastcast (read once per process)."""
    if not SCRIPTS_CACHE:
        SCRIPTS_CACHE.append(ScriptDirectory.from_config(alembic_config()))
    return SCRIPTS_CACHE[0]


def head_revision() -> str:
    """The newest revision id, e.g. ``"0002"``."""
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(
            f"the migrations in {MIGRATIONS_DIR / 'versions'} have {len(heads)} heads ({', '.join(heads)}); merge them into one"
        )
    return heads[0]


def is_known(revision: str) -> bool:
    """Whether ``revision`` is one of the shipped revisions."""
    from alembic.util import CommandError

    try:
        return script_directory().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: not under migrations)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database of ``connection`` to ``revision`` (in the caller's transaction)."""
    command.upgrade(alembic_config(connection), revision)


def stamp(connection: Connection, revision: str = "head") -> None:
    """Record ``revision`` as the database's revision without running anything."""
    command.stamp(alembic_config(connection), revision)
