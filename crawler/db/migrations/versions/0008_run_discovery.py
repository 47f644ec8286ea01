"""run_discovery: per run, per discovery page, the links found, matching an article pattern, in the window, and
the new articles stored from them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_discovery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetches", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("links_found", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("links_matching", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("links_in_window", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("stored", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("run_id", "url"),
    )
    op.create_index("ix_run_discovery_run_id", "run_discovery", ["run_id"])
    op.create_index("ix_run_discovery_source_url", "run_discovery", ["source", "url"])


def downgrade() -> None:
    op.drop_index("ix_run_discovery_source_url", table_name="run_discovery")
    op.drop_index("ix_run_discovery_run_id", table_name="run_discovery")
    op.drop_table("run_discovery")
