"""Government sources: 发文机关 and 文号 of a page's metadata table stored; the records replay-crawl their week."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from crawler.db.models import Article
from crawler.db.store import FetchedPage, StoreJob, store, store_many
from crawler.extract.article import Extracted

POLICY = "https://www.nhc.gov.cn/wjw/zcwj/202509/0a1b2c3d4e5f60718293a4b5c6d7e8f9.shtml"


def _policy(url: str, meta: dict | None) -> Extracted:
    extracted = Extracted(url=url, title="关于进一步推进医疗机构检查检验结果互认的通知", body="各省、自治区、直辖市卫生健康委：为推进互认……",
                          published_at=datetime(2025, 9, 2, 2, tzinfo=timezone.utc), date_source="text",
                          extractor="density", source_name="国家卫生健康委员会网站")
    if meta is not None:  # the extractor's contract (issue 17): the table's fields keyed by their Chinese labels
        extracted.doc_meta = meta
    return extracted


META = {"索引号": "000013610/2025-00123", "发文机关": "国家卫生健康委办公厅", "成文日期": "2025-08-28",
        "发文字号": "国卫办医政发〔2025〕12号", "发布日期": "2025-09-02"}


def test_issuing_body_and_doc_number_are_stored_one_by_one_and_in_batches(db) -> None:
    page = [FetchedPage(url=POLICY, body=b"<html></html>")]
    assert store(db, POLICY, _policy(POLICY, META), "nhc", page)
    second = POLICY.replace("0a1b", "0b1b")
    plain = POLICY.replace("0a1b", "0c1b")
    store_many(db, [StoreJob(second, _policy(second, {**META, "文号": "国卫规划函〔2025〕7号"}), "nhc",
                             [FetchedPage(url=second, body=b"<html>2</html>")]),
                    StoreJob(plain, _policy(plain, None), "nhc", [FetchedPage(url=plain, body=b"<html>3</html>")])])
    with db.session() as session:
        rows = {a.url: (a.issuing_body, a.doc_number) for a in session.scalars(select(Article))}
    assert rows[POLICY] == ("国家卫生健康委办公厅", "国卫办医政发〔2025〕12号")
    assert rows[second] == ("国家卫生健康委办公厅", "国卫规划函〔2025〕7号")  # 文号 before 发文字号
    assert rows[plain] == (None, None)  # a news page without the table


def test_a_re_extraction_without_the_table_clears_the_fields(db) -> None:
    page = [FetchedPage(url=POLICY, body=b"<html></html>")]
    store(db, POLICY, _policy(POLICY, META), "nhc", page)
    store(db, POLICY, _policy(POLICY, {}), "nhc", page)
    with db.session() as session:
        article = session.scalar(select(Article).where(Article.url == POLICY))
        assert (article.issuing_body, article.doc_number) == (None, None)
