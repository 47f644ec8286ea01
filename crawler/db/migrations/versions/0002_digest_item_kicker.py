"""digest_items.kicker: the 引题 printed above an article's title

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_items") as batch:
        batch.add_column(sa.Column("kicker", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_items") as batch:
        batch.drop_column("kicker")
