"""articles.relevant and articles.relevance_lexicon: the stored verdict and the lexicon that gave it

A week's candidates used to score every article of the week twice on every look (seconds for a week of
thousands); the stored score is now used as long as the lexicon that made it is the current one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("relevant", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("relevance_lexicon", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("relevance_lexicon")
        batch.drop_column("relevant")
