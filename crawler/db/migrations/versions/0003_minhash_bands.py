"""minhash_bands: LSH bands of each article's MinHash, so near-duplicate candidates come from an index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import hashlib

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROWS = 3  # values per band (crawler.db.cluster.ROWS at the time of this migration)


def _band_keys(sig: bytes) -> list[int]:
    width = ROWS * 4
    return [int.from_bytes(hashlib.blake2b(band.to_bytes(2, "little") + sig[band * width:(band + 1) * width],
                                           digest_size=8).digest(), "little", signed=True)
            for band in range(len(sig) // width)]


def upgrade() -> None:
    bands = op.create_table(
        "minhash_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_minhash_bands_key", "minhash_bands", ["band_key"])
    op.create_index(op.f("ix_minhash_bands_article_id"), "minhash_bands", ["article_id"])
    # articles stored before this revision: their bands, from the signatures already stored
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, minhash FROM articles WHERE minhash IS NOT NULL")).fetchall()
    batch = [{"article_id": article_id, "band_key": key} for article_id, sig in rows for key in _band_keys(bytes(sig))]
    if batch:
        op.bulk_insert(bands, batch)


def downgrade() -> None:
    op.drop_index(op.f("ix_minhash_bands_article_id"), table_name="minhash_bands")
    op.drop_index("ix_minhash_bands_key", table_name="minhash_bands")
    op.drop_table("minhash_bands")
