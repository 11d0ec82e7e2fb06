"""Schema migrations (workflows/migrations, workflows.db.init_db): a database made by the code before
migrations (the frozen DDL of commit ed4c1e3 in tests/data/schema/, not the revisions' own tables)
is upgraded with its rows kept; fresh databases, and the chain of revisions run from nothing, equal
the models exactly (Alembic's compare_metadata finds no difference); processes starting at once
on one new SQLite file all succeed. SQLite always; PostgreSQL where one answers (.ci/services.sh)."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from workflows import db as dbm
from workflows import migrations

SCHEMA = Path(__file__).parent / "data" / "schema"
PG_URL = os.environ.get("COASTCAST_TEST_DATABASE_URL", "postgresql+psycopg://coastcast:coastcast@127.0.0.1:5432/coastcast_test")
OLD_TABLES = {"users", "forecast_systems", "cycles", "stations", "cycle_leases", "login_failures"}


def _pg_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=2).close()
    except Exception as exc:
        return f"no PostgreSQL answers at {PG_URL.split('@')[-1]} ({str(exc).splitlines()[0]}); run .ci/services.sh"
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    """(engine, dialect) of an empty database."""
    if request.param == "sqlite":
        engine = dbm.make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    else:
        reason = _pg_reason()
        if reason:
            pytest.skip(reason)
        engine = dbm.make_engine(PG_URL)
        dbm.drop_db(engine)
    yield engine, request.param
    if request.param == "postgresql":
        dbm.drop_db(engine)
    engine.dispose()


def differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), dbm.Base.metadata)


def tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def revision(engine) -> str | None:
    with engine.connect() as conn:
        return migrations.current_revision(conn)


def _old_database(engine, dialect: str) -> None:
    """The ed4c1e3 schema from its frozen DDL, with a user, a system, a cycle, a station and a lease."""
    ddl = (SCHEMA / f"ed4c1e3.{dialect}.sql").read_text()
    with engine.begin() as conn:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, password_hash, is_admin, is_approved, created) "
                "VALUES (7, 'old@example.org', 'pbkdf2:sha256:1$x$y', :t, :t, '2026-11-01 10:00:00')"
            ),
            {"t": True},
        )
        conn.execute(
            sa.text(
                "INSERT INTO forecast_systems (id, owner_id, name, config_toml, settings, status, run_hour_utc, "
                "horizon_hours, created, bbox_west, bbox_south, bbox_east, bbox_north) VALUES (3, 7, 'Tagus', "
                "'[run]', '{\"k\": 1}', 'active', 6, 48, '2026-11-02 00:00:00', -9.5, 38.5, -8.9, 39.0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO cycles (id, system_id, cycle_time, status, progress, created, log) "
                "VALUES (11, 3, '2026-11-25 00:00:00', 'succeeded', 1.0, '2026-11-25 00:01:00', 'done')"
            )
        )
        conn.execute(sa.text("INSERT INTO stations (id, system_id, name, lon, lat) VALUES (1, 3, 'Cascais', -9.42, 38.69)"))
        conn.execute(sa.text("INSERT INTO cycle_leases (cycle_id, owner, resumes, attempts) VALUES (11, 'w', 0, '{}')"))


def test_the_frozen_ddl_is_the_old_schema_not_the_models(tmp_path):
    """The fixture is independent of today's models: it lacks what was added since (else the upgrade
    test below would test nothing)."""
    engine = dbm.make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    _old_database(engine, "sqlite")
    assert tables(engine) == OLD_TABLES
    assert "session_epoch" not in {c["name"] for c in sa.inspect(engine).get_columns("users")}
    assert differences(engine)  # the models have moved on
    engine.dispose()


def test_database_of_the_old_code_is_upgraded_with_its_rows(empty_db):
    engine, dialect = empty_db
    _old_database(engine, dialect)
    assert revision(engine) is None
    dbm.init_db(engine)
    assert revision(engine) == migrations.head_revision()
    assert differences(engine) == []
    Session = dbm.make_session_factory(engine)
    with Session() as s:
        user = s.get(dbm.User, 7)
        assert (user.email, user.is_admin, user.session_epoch) == ("old@example.org", True, 0)
        assert user.created == datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
        system = s.get(dbm.ForecastSystem, 3)
        assert (system.name, system.owner_id, system.settings, system.bbox) == ("Tagus", 7, {"k": 1}, (-9.5, 38.5, -8.9, 39.0))
        assert [(c.id, c.label, c.status, c.log) for c in system.cycles] == [(11, "2026-11-25T00Z", "succeeded", "done")]
        assert [(st.name, st.lon) for st in system.stations] == [("Cascais", -9.42)]
        assert s.get(dbm.CycleLease, 11).owner == "w"
    # new rows go in beside the old ones; a second start changes nothing
    with Session() as s, s.begin():
        new = dbm.create_user(s, "new@example.org", "a password 1")
    assert new.id != 7 and new.session_epoch == 0
    dbm.init_db(engine)
    assert revision(engine) == migrations.head_revision() and differences(engine) == []


def test_fresh_database_equals_the_models(empty_db):
    engine, _ = empty_db
    dbm.init_db(engine)
    assert tables(engine) == set(dbm.Base.metadata.tables) | {"alembic_version"}
    assert revision(engine) == migrations.head_revision()
    assert differences(engine) == []


def test_the_revisions_alone_build_the_models(empty_db):
    """What init_db does for a new database (create_all + stamp) equals running every revision."""
    engine, _ = empty_db
    with engine.begin() as conn:
        migrations.upgrade(conn, "head")
    assert differences(engine) == []
    with engine.begin() as conn:
        migrations.upgrade(conn, "head")  # idempotent
    # and back down to nothing
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(migrations.alembic_config(conn), "base")
    assert tables(engine) <= {"alembic_version"}


def test_old_database_missing_later_tables_gains_them(tmp_path):
    """A database from before cycle_leases and login_failures existed: the baseline adds just those."""
    path = tmp_path / "older.sqlite"
    ddl = (SCHEMA / "ed4c1e3.sqlite.sql").read_text()
    keep = [s for s in ddl.split(";") if s.strip() and "cycle_leases" not in s and "login_failures" not in s]
    with sqlite3.connect(path) as con:
        con.executescript(";".join(keep) + ";")
        con.execute("INSERT INTO users VALUES (1, 'a@b.c', 'h', 0, 1, '2026-01-01 00:00:00')")
    engine = dbm.make_engine(f"sqlite:///{path}")
    dbm.init_db(engine)
    assert differences(engine) == [] and OLD_TABLES <= tables(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT email, session_epoch FROM users")).all() == [("a@b.c", 0)]
    engine.dispose()


def test_database_from_a_newer_coastcast_is_refused_in_one_line(tmp_path):
    engine = dbm.make_engine(f"sqlite:///{tmp_path / 'new.sqlite'}")
    dbm.init_db(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(
        RuntimeError,
        match=r"is at schema revision 9999, which this coastcast does not know "
        rf"\(its newest is {migrations.head_revision()}\)",
    ) as info:
        dbm.init_db(engine)
    assert "\n" not in str(info.value)
    engine.dispose()


def _start(url: str, barrier) -> None:
    engine = dbm.make_engine(url)
    barrier.wait()
    dbm.init_db(engine)
    engine.dispose()


@pytest.mark.parametrize("old", [False, True], ids=["fresh", "old-schema"])
def test_processes_starting_at_once_all_succeed(empty_db, old):
    engine, dialect = empty_db
    if old:
        _old_database(engine, dialect)
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    n = 4
    barrier = ctx.Barrier(n)
    procs = [ctx.Process(target=_start, args=(url, barrier)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * n
    assert revision(engine) == migrations.head_revision() and differences(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == (1 if old else 0)


def test_revisions_ship_with_the_package():
    """env.py and every revision sit in the installed package (no alembic.ini in the working directory)."""
    versions = sorted(p.name for p in (migrations.MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    assert versions[0].startswith("0001_") and (migrations.MIGRATIONS_DIR / "env.py").is_file()
    assert migrations.head_revision() == f"{len(versions):04d}"
    assert (migrations.MIGRATIONS_DIR / "versions" / "__init__.py").is_file()
