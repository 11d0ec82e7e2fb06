"""The schema as ``Base.metadata.create_all`` made it before migrations (commit ed4c1e3): users,
forecast_systems, cycles, stations, cycle_leases, login_failures.

A database made by that code has these tables but no ``alembic_version``; ``init_db`` runs this
revision on it, and a table that exists already is left as it is (a database from before
cycle_leases or login_failures gains just those).

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("users", "forecast_systems", "cycles", "stations", "cycle_leases", "login_failures")


def upgrade() -> None:
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "users" not in have:
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("email", sa.String(254), nullable=False),
            sa.Column("password_hash", sa.String(256), nullable=False),
            sa.Column("is_admin", sa.Boolean(), nullable=False),
            sa.Column("is_approved", sa.Boolean(), nullable=False),
            sa.Column("created", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_users_email", "users", ["email"], unique=True)
    if "forecast_systems" not in have:
        op.create_table(
            "forecast_systems",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("owner_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(120), nullable=False),
            sa.Column("region_kind", sa.String(16), nullable=True),
            sa.Column("bbox_west", sa.Float(), nullable=True),
            sa.Column("bbox_south", sa.Float(), nullable=True),
            sa.Column("bbox_east", sa.Float(), nullable=True),
            sa.Column("bbox_north", sa.Float(), nullable=True),
            sa.Column("mesh_path", sa.String(1024), nullable=True),
            sa.Column("data_dir", sa.String(1024), nullable=True),
            sa.Column("config_toml", sa.Text(), nullable=False),
            sa.Column("settings", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("run_hour_utc", sa.Integer(), nullable=False),
            sa.Column("horizon_hours", sa.Integer(), nullable=False),
            sa.Column("created", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        )
        op.create_index("ix_forecast_systems_owner_id", "forecast_systems", ["owner_id"])
    if "cycles" not in have:
        op.create_table(
            "cycles",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("system_id", sa.Integer(), nullable=False),
            sa.Column("cycle_time", sa.DateTime(), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("progress", sa.Float(), nullable=False),
            sa.Column("created", sa.DateTime(), nullable=False),
            sa.Column("started", sa.DateTime(), nullable=True),
            sa.Column("finished", sa.DateTime(), nullable=True),
            sa.Column("run_dir", sa.String(1024), nullable=True),
            sa.Column("log", sa.Text(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("system_id", "cycle_time", name="uq_cycle_system_time"),
            sa.ForeignKeyConstraint(["system_id"], ["forecast_systems.id"], ondelete="CASCADE"),
        )
        op.create_index("ix_cycles_system_id", "cycles", ["system_id"])
    if "stations" not in have:
        op.create_table(
            "stations",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("system_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(80), nullable=False),
            sa.Column("lon", sa.Float(), nullable=False),
            sa.Column("lat", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.ForeignKeyConstraint(["system_id"], ["forecast_systems.id"], ondelete="CASCADE"),
        )
        op.create_index("ix_stations_system_id", "stations", ["system_id"])
    if "cycle_leases" not in have:
        op.create_table(
            "cycle_leases",
            sa.Column("cycle_id", sa.Integer(), nullable=False),
            sa.Column("owner", sa.String(200), nullable=False),
            sa.Column("heartbeat", sa.DateTime(), nullable=True),
            sa.Column("resumes", sa.Integer(), nullable=False),
            sa.Column("attempts", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("cycle_id"),
            sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], ondelete="CASCADE"),
        )
    if "login_failures" not in have:
        op.create_table(
            "login_failures",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("email", sa.String(254), nullable=False),
            sa.Column("address", sa.String(64), nullable=False),
            sa.Column("time", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_login_failures_email", "login_failures", ["email"])
        op.create_index("ix_login_failures_address", "login_failures", ["address"])
        op.create_index("ix_login_failures_time", "login_failures", ["time"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
