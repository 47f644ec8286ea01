"""A stored score is used until the lexicon changes: a week's candidates score each article once, not per look."""
from __future__ import annotations

from datetime import datetime, timezone

from crawler.analyse import relevance
from crawler.analyse.relevance import default_lexicon, parse_lexicon
from crawler.db.models import Article
from crawler.digest import candidates as candidates_module
from crawler.digest.candidates import candidates
from crawler.window import Window

BODY = ("市卫生健康委推进医检互认和电子病历共享，患者在医院的检查结果可跨院调阅。\n"
        "医院信息化建设加快，互联网医院服务覆盖全市。\n影像云平台接入基层医疗机构。")
WEEK = Window.resolve("2025-09-05", None, None)


def _store(db, n: int) -> None:
    moment = datetime(2025, 9, 2, 2, 0, tzinfo=timezone.utc)
    with db.session() as session:
        for i in range(n):
            session.add(Article(url=f"http://health.people.com.cn/n1/2025/0902/c1-{i}.html", site="people",
                                source_name="人民网", title=f"互联网医院和电子病历建设提速（{i}）", body=f"{BODY}\n第{i}段。",
                                published_at=moment, fetched_at=moment, updated_at=moment))


def _counting(monkeypatch) -> list:
    calls = []
    real = relevance.score

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(candidates_module, "score", counted)
    return calls


def test_a_week_is_scored_once_then_read_from_the_database(db, monkeypatch):
    _store(db, 4)
    calls = _counting(monkeypatch)
    with db.session() as session:
        first = [(c.id, c.score, c.terms, c.relevant) for c in candidates(session, WEEK)]
    assert len(calls) == 4  # articles stored without a verdict are scored once
    with db.session() as session:
        again = [(c.id, c.score, c.terms, c.relevant) for c in candidates(session, WEEK)]
    assert len(calls) == 4 and again == first  # the second look reads the stored verdicts
    assert all(score > 0 and terms and relevant for _, score, terms, relevant in first)


def test_a_changed_lexicon_scores_the_week_again(db, monkeypatch):
    _store(db, 3)
    with db.session() as session:
        before = {c.id: c.score for c in candidates(session, WEEK)}
    calls = _counting(monkeypatch)
    stricter = parse_lexicon(_stricter_yaml())
    assert stricter.fingerprint != default_lexicon().fingerprint
    with db.session() as session:
        after = candidates(session, WEEK, lexicon=stricter)
    assert len(calls) == 3
    assert {c.id: c.score for c in after} == before and not any(c.relevant for c in after)


def _stricter_yaml() -> str:
    import yaml

    data = default_lexicon().model_dump()
    data["threshold"] = 99.0
    return yaml.safe_dump(data, allow_unicode=True)


def test_crawl_time_scores_carry_the_verdict_and_the_lexicon(db):
    from crawler.analyse.prepare import prepare
    from crawler.db.store import StoreJob, FetchedPage, store_many
    from crawler.extract import Extracted

    page = FetchedPage(url="http://health.people.com.cn/n1/2025/0902/c1-9.html", body=b"<html></html>", status=200,
                       headers={})
    extracted = Extracted(url=page.url, extractor="test", title="互联网医院和电子病历建设提速", body=BODY,
                          published_at=datetime(2025, 9, 2, 2, 0, tzinfo=timezone.utc), source_name="人民网")
    job = StoreJob(page.url, extracted, "people", [page], prepared=prepare(extracted, [page.body]))
    assert store_many(db, [job]) == [True]
    with db.session() as session:
        article = session.query(Article).one()
        assert article.relevant is True and article.relevance_lexicon == default_lexicon().fingerprint
