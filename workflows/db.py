"""The forecast-service database: users, forecast systems, cycles and stations (SQLAlchemy 2).

Plain SQLAlchemy (no Flask) so that the web app, the scheduler and the dask pipeline share one
schema. SQLite by default (a file in the web app's instance folder), PostgreSQL by URL, e.g.
``postgresql+psycopg://user:password@host:5432/coastcast``; the URL comes from the environment
variable ``COASTCAST_DATABASE_URL`` when set.

Durable state lives here and in the run directories, never in a process's memory: a cycle's row
says where its files are (``run_dir``), how far it got (``progress`` 0..1) and how it ended.

Typical use outside Flask::

    engine = make_engine(database_url())
    init_db(engine)
    Session = make_session_factory(engine)
    with Session() as s, s.begin():
        s.add(User(email="a@b.c", password_hash=hash_password("..."), is_admin=True, is_approved=True))
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger(__name__)

ENV_URL = "COASTCAST_DATABASE_URL"

REGION_KINDS = ("gallery", "box", "upload")
SYSTEM_STATUSES = ("draft", "active", "paused")
CYCLE_STATUSES = ("queued", "running", "succeeded", "failed", "interrupted")
CYCLE_ACTIVE = ("queued", "running")
MAX_HORIZON_HOURS = 72


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always returned timezone-aware (UTC).

    SQLite keeps no time zone and PostgreSQL ``timestamp`` neither; storing naive UTC everywhere
    keeps both back ends alike. Naive input is taken to be UTC already.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    """An account. New accounts wait for an administrator's approval (``is_approved``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: bumped at logout (and password change): a session cookie carries the value it was issued
    #: with and is refused once they differ, so a copied cookie dies with the logout
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    systems: Mapped[list["ForecastSystem"]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )
    api_tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, order_by="ApiToken.id"
    )

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class ForecastSystem(Base):
    """A forecast system: region + forcings + parameters + stations + owner.

    ``status`` is ``draft`` while the wizard fills it in (``settings`` holds the wizard's answers
    as JSON), then ``active`` (the scheduler runs it daily at ``run_hour_utc``) or ``paused``.
    ``bbox`` is (west, south, east, north) in degrees for a drawn box. ``config_toml`` is the
    forecast configuration (DESIGN §8) written at creation; ``data_dir`` holds the mesh, the config
    file and the cycles' run directories.
    """

    __tablename__ = "forecast_systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    region_kind: Mapped[Optional[str]] = mapped_column(String(16), nullable=True)
    bbox_west: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    bbox_south: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    bbox_east: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    bbox_north: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    mesh_path: Mapped[Optional[str]] = mapped_column(String(1024), nullable=True)
    data_dir: Mapped[Optional[str]] = mapped_column(String(1024), nullable=True)
    config_toml: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    run_hour_utc: Mapped[int] = mapped_column(Integer, default=0)
    horizon_hours: Mapped[int] = mapped_column(Integer, default=72)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User] = relationship(back_populates="systems")
    cycles: Mapped[list["Cycle"]] = relationship(
        back_populates="system",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Cycle.cycle_time.desc()",
    )
    stations: Mapped[list["Station"]] = relationship(
        back_populates="system", cascade="all, delete-orphan", passive_deletes=True, order_by="Station.id"
    )
    config_versions: Mapped[list["SystemConfigVersion"]] = relationship(
        back_populates="system",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SystemConfigVersion.version",
    )

    @property
    def bbox(self) -> Optional[tuple[float, float, float, float]]:
        """(west, south, east, north) in degrees, or None."""
        if self.bbox_west is None:
            return None
        return (self.bbox_west, self.bbox_south, self.bbox_east, self.bbox_north)

    @bbox.setter
    def bbox(self, value) -> None:
        if value is None:
            self.bbox_west = self.bbox_south = self.bbox_east = self.bbox_north = None
        else:
            self.bbox_west, self.bbox_south, self.bbox_east, self.bbox_north = (float(v) for v in value)


class Cycle(Base):
    """One forecast run of a system, e.g. the 2026-11-25T00Z cycle. ``progress`` is 0..1."""

    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("system_id", "cycle_time", name="uq_cycle_system_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("forecast_systems.id", ondelete="CASCADE"), index=True)
    cycle_time: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    finished: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    run_dir: Mapped[Optional[str]] = mapped_column(String(1024), nullable=True)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)

    system: Mapped[ForecastSystem] = relationship(back_populates="cycles")

    @property
    def label(self) -> str:
        """The cycle's name, e.g. ``2026-11-25T00Z``."""
        return self.cycle_time.strftime("%Y-%m-%dT%HZ")


class Station(Base):
    """An output station of a system: name and position (lon, lat in degrees)."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("forecast_systems.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)

    system: Mapped[ForecastSystem] = relationship(back_populates="stations")


class CycleLease(Base):
    """Who is driving a cycle right now, for the dask pipeline (:mod:`workflows.pipeline`).

    The driver that submitted the cycle refreshes ``heartbeat`` while it waits; a row whose cycle is
    ``running`` but whose heartbeat is older than the lease (the driver or its machine died) is
    marked ``interrupted`` and resumed from its last finished segment at most ``resumes`` times.
    A separate table (not new columns on ``cycles``) so that existing databases only gain a table.
    """

    __tablename__ = "cycle_leases"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), default="")
    heartbeat: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    resumes: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[dict] = mapped_column(JSON, default=dict)


class LoginFailure(Base):
    """A failed login: the e-mail as typed (normalised, known or not), the client's address, when.

    The web app refuses logins to an account, or from an address, with too many recent failures
    (``webapp.security.login_refusal``); rows older than the window are deleted as new ones come.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SystemConfigVersion(Base):
    """One version of a forecast system's configuration: the TOML text as it stood from ``created``
    until the next version. ``ForecastSystem.config_toml`` is always the newest version's text;
    version 1 is the configuration the wizard wrote (recorded when the system is first edited),
    each edit adds the next number with a one-line ``note`` of what changed. A cycle's run
    directory keeps its own ``config.toml``, so cycles already run keep theirs.
    """

    __tablename__ = "system_config_versions"
    __table_args__ = (UniqueConstraint("system_id", "version", name="uq_system_config_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("forecast_systems.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    config_toml: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")

    system: Mapped[ForecastSystem] = relationship(back_populates="config_versions")


class ApiToken(Base):
    """A personal token for the JSON API (``Authorization: Bearer <token>``).

    Only the SHA-256 of the token is stored (``token_hash``, hex); the token itself is shown to its
    owner once, at creation. ``prefix`` (its first characters) lets the owner tell tokens apart.
    A revoked token (``revoked`` set) is refused; the row stays so that the owner sees when.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="api_tokens")


PASSWORD_METHOD = "scrypt"


def hash_password(password: str) -> str:
    """A salted hash of ``password`` (werkzeug, :data:`PASSWORD_METHOD`, scrypt by default)."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def database_url(instance_path: str | os.PathLike | None = None) -> str:
    """The database URL: ``$COASTCAST_DATABASE_URL``, else SQLite in ``instance_path`` (or cwd)."""
    url = os.environ.get(ENV_URL)
    if url:
        return url
    folder = Path(instance_path) if instance_path else Path.cwd()
    return f"sqlite:///{(folder / 'coastcast.sqlite').resolve()}"


def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _create_private(path: Path) -> None:
    """Create an SQLite database file readable by its owner only (0600; a new folder 0700): SQLite
    gives its WAL and shared-memory files the database's mode. An existing file is left as it is."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout (threads share it);
    a new SQLite file is created 0600.

    ``postgresql://`` URLs are given the psycopg 3 driver.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            _create_private(Path(url[len("sqlite:///") :].split("?", 1)[0]))
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """A session factory bound to ``engine`` (objects stay readable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


SCHEMA_LOCK_KEY = 0x636F617374  # PostgreSQL advisory lock taken while the schema is brought up to date


def init_db(engine: Engine) -> None:
    """Bring the database's schema up to date (idempotent; called by the web app, the scheduler and
    ``coastcast serve --init-db`` at start).

    * no coastcast tables: the models are created and stamped with the newest migration;
    * the tables of an older coastcast without ``alembic_version`` (made by ``create_all`` before
      migrations): the migrations run from the baseline revision, which creates only the tables
      that are missing, and on to the newest;
    * otherwise the pending migrations run (none: nothing happens).

    Several processes starting at once on one database take turns: a lock file beside an SQLite
    database, an advisory lock on PostgreSQL, otherwise one retry after a failure.
    """
    from . import migrations

    def bring_up_to_date() -> None:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables and not tables & set(Base.metadata.tables):
                Base.metadata.create_all(conn)
                migrations.stamp(conn, "head")
                log.info("database %s created at schema revision %s", _safe_url(engine), migrations.head_revision())
                return
            now, head = migrations.current_revision(conn), migrations.head_revision()
            if now is not None and not migrations.is_known(now):
                raise RuntimeError(
                    f"database {_safe_url(engine)} is at schema revision {now}, which this coastcast "
                    f"does not know (its newest is {head}): run the coastcast that made it"
                )
            if now != head:
                log.info("database %s: schema revision %s -> %s", _safe_url(engine), now or "none", head)
                migrations.upgrade(conn, "head")

    with _schema_lock(engine) as locked:
        if locked:
            bring_up_to_date()
            return
        try:
            bring_up_to_date()
        except Exception as exc:  # another process may have been creating the same tables
            log.warning("bringing the schema up to date failed (%s); trying once more", str(exc).splitlines()[0])
            bring_up_to_date()


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _schema_lock(engine: Engine):
    """Serialise schema changes across processes: an exclusive ``flock`` on ``<database>.lock``
    beside an SQLite file; PostgreSQL locks inside :func:`init_db`'s transaction. Yields whether
    the schema is protected by a lock."""
    if engine.dialect.name == "postgresql":
        yield True
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield False
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        yield False
        return
    lock_path = Path(database).with_name(Path(database).name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)  # releases the lock


def drop_db(engine: Engine) -> None:
    """Drop every table and the migration record (tests only)."""
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def create_user(session, email: str, password: str, *, is_admin: bool = False, is_approved: bool = False) -> User:
    """Add a user to ``session`` (not committed). Email is stored lower-case and stripped."""
    email = normalise_email(email)
    if session.query(User).filter_by(email=email).first() is not None:
        raise ValueError(f"a user with email {email} already exists")
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin, is_approved=is_approved or is_admin)
    session.add(user)
    return user


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()
