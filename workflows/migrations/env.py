"""Alembic's environment for coastcast's database (run through :mod:`workflows.migrations`).

The caller passes an open connection in ``config.attributes["connection"]`` (``workflows.db.init_db``
does, inside its transaction and lock); otherwise ``sqlalchemy.url`` names the database. SQLite
gets batch mode (a table is rebuilt where ALTER TABLE cannot do the change).
"""

from __future__ import annotations

from alembic import context

from workflows import db as dbm

config = context.config
target_metadata = dbm.Base.metadata


def render_item(type_, obj, autogen_context):
    """Autogenerate writes the project's timestamp type as the plain ``sa.DateTime()`` it stores."""
    if type_ == "type" and isinstance(obj, dbm.UTCDateTime):
        return "sa.DateTime()"
    return False


def _configure(**kwargs) -> None:
    context.configure(target_metadata=target_metadata, render_item=render_item, compare_type=True, **kwargs)


def run_offline() -> None:
    _configure(
        url=config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        render_as_batch=config.get_main_option("sqlalchemy.url", "").startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = dbm.make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _configure(connection=conn, render_as_batch=conn.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
