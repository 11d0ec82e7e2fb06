"""``python -m workflows.migrations revision MESSAGE | heads | upgrade URL``: the schema tools.

Apart from the package (:mod:`workflows.migrations`), which :func:`workflows.db.init_db` uses, so
that the package never imports the models' module that imports it.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from alembic import command

from workflows import db as dbm
from workflows.migrations import SCRIPTS_CACHE, alembic_config, current_revision, head_revision, upgrade

log = logging.getLogger("workflows.migrations")


def new_revision(message: str) -> Path:
    """Draft the next revision from the difference between the head schema and the models.

    A scratch SQLite database is upgraded to the current head and compared with
    ``workflows.db.Base.metadata``; the operations found are written to a new file in
    ``versions/`` numbered after the head. Read it, fix what autogenerate cannot know (renames,
    data moves, ``server_default`` for new NOT NULL columns of existing rows) and test it.
    """
    import tempfile

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
                script = command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=number)
        finally:
            engine.dispose()
    path = Path(script.path)
    final = path.with_name(f"{number}_{slug}.py")
    path.rename(final)
    SCRIPTS_CACHE.clear()
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
        engine = dbm.make_engine(args.url)
        try:
            dbm.init_db(engine)
            with engine.connect() as conn:
                print(current_revision(conn))
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
