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
import re
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


_SCRIPTS: list[ScriptDirectory] = []


def script_directory() -> ScriptDirectory:
    """The revisions shipped with coastcast (read once per process)."""
    if not _SCRIPTS:
        _SCRIPTS.append(ScriptDirectory.from_config(alembic_config()))
    return _SCRIPTS[0]


def head_revision() -> str:
    """The newest revision id, e.g. ``"0002"``."""
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {MIGRATIONS_DIR / 'versions'} have {len(heads)} heads "
                           f"({', '.join(heads)}); merge them into one")
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


def new_revision(message: str) -> Path:
    """Draft the next revision from the difference between the head schema and the models.

    A scratch SQLite database is upgraded to the current head and compared with
    ``workflows.db.Base.metadata``; the operations found are written to a new file in
    ``versions/`` numbered after the head. Read it, fix what autogenerate cannot know (renames,
    data moves, ``server_default`` for new NOT NULL columns of existing rows) and test it.
    """
    import tempfile

    from workflows import db as dbm

    number = f"{int(head_revision()) + 1:04d}"
    words = re.sub(r"[^a-z0-9]+", " ", message.lower()).split()
    slug = "_".join(words[:6]) or "change"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.sqlite'}"
        engine = dbm.make_engine(url)
        try:
            with engine.begin() as conn:
                upgrade(conn)
            with engine.begin() as conn:
                script = command.revision(alembic_config(conn), message=message, autogenerate=True,
                                          rev_id=number)
        finally:
            engine.dispose()
    path = Path(script.path)
    final = path.with_name(f"{number}_{slug}.py")
    path.rename(final)
    _SCRIPTS.clear()
    log.info("wrote %s", final)
    return final


def main(argv: list[str] | None = None) -> int:
    """``python -m workflows.migrations revision MESSAGE`` | ``heads`` | ``upgrade URL``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m workflows.migrations", description=main.__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("revision", help="draft the next revision from the models")
    r.add_argument("message")
    sub.add_parser("heads", help="print the newest revision")
    u = sub.add_parser("upgrade", help="bring a database up to date (as the web app and scheduler do at start)")
    u.add_argument("url")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.cmd == "revision":
        print(new_revision(args.message))
    elif args.cmd == "heads":
        print(head_revision())
    else:
        from workflows import db as dbm

        engine = dbm.make_engine(args.url)
        try:
            dbm.init_db(engine)
            with engine.connect() as conn:
                print(current_revision(conn))
        finally:
            engine.dispose()
    return 0
