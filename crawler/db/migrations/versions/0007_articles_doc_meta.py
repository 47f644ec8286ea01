"""articles.issuing_body and articles.doc_number: 发文机关 and 文号 from a government page's metadata table

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("issuing_body", sa.String(255), nullable=True))
        batch.add_column(sa.Column("doc_number", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("doc_number")
        batch.drop_column("issuing_body")
