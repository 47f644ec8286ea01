"""MinHash signatures version 2: recompute articles.minhash and their minhash_bands with the vectorised hash

No schema change. Signatures of version 1 (datasketch, SHA-1 per shingle) and version 2 estimate the same
similarity but share no values, so every stored article is re-signed from its title and body, in batches.
Clusters (cluster_id) are kept: they were found with version 1 and stay valid.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    from crawler.analyse.minhash import band_keys, signature  # the signature this revision introduces

    connection = op.get_bind()
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                        sa.column("body", sa.Text), sa.column("minhash", sa.LargeBinary))
    bands = sa.table("minhash_bands", sa.column("article_id", sa.Integer), sa.column("band_key", sa.BigInteger))
    last = 0
    while True:
        rows = connection.execute(sa.select(articles.c.id, articles.c.title, articles.c.body)
                                  .where(articles.c.id > last, articles.c.minhash.is_not(None))
                                  .order_by(articles.c.id).limit(BATCH)).fetchall()
        if not rows:
            break
        signed = [(row.id, signature(row.title or "", row.body or "")) for row in rows]
        connection.execute(sa.update(articles).where(articles.c.id == sa.bindparam("b_id"))
                           .values(minhash=sa.bindparam("b_sig")), [{"b_id": i, "b_sig": s} for i, s in signed])
        connection.execute(sa.delete(bands).where(bands.c.article_id.in_([i for i, _ in signed])))
        connection.execute(sa.insert(bands), [{"article_id": i, "band_key": key} for i, s in signed
                                              for key in band_keys(s)])
        last = rows[-1].id


def downgrade() -> None:
    """Version 1 signatures cannot be rebuilt without the old code: downgrading leaves version 2 in place (the
    comparison code of revision 0003 reads them as it reads any signature)."""
