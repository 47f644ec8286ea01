"""Near-duplicates: the 重庆日报 page and its 人民网 reprint form one cluster; signatures are deterministic."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.db.models import Article
from crawler.db.cluster import assign_cluster, content_hash, signature, similarity
from crawler.digest.parse import parse_issue

NOW = datetime(2025, 9, 1, tzinfo=timezone.utc)
STABLE = "437dcf06fc3f1e56"  # sha1 prefix of signature("互联网医院", "全面上线。" * 3), version 2


def _seed_pair(seeds: Path) -> tuple[tuple[str, str], tuple[str, str]]:
    """(title, body) of 000's first article (人民网) and of the same story on the 重庆日报 page (001)."""
    issue = parse_issue(next(seeds.glob("000_*.txt")).read_text(encoding="utf-8"))
    people = (issue.items[0].title, "\n".join(issue.items[0].body))
    page = next(seeds.glob("001_*.txt")).read_text(encoding="utf-8")
    start = page.index("# 医检互认数字化改革惠及百姓")
    end = page.index("【 AI+产业新动能 】")  # the next story on the page
    return people, ("医检互认数字化改革惠及百姓", page[start:end])


def _article(url: str, title: str, body: str, source: str, published: datetime) -> Article:
    return Article(url=url, site="test", source_name=source, title=title, body=body, published_at=published,
                   fetched_at=NOW, updated_at=NOW)


def test_signature_is_deterministic_and_sized():
    first, second = signature("标题", "正文内容" * 20), signature("标题", "正文内容" * 20)
    assert first == second and len(first) == 128 * 4
    assert similarity(first, second) == 1.0
    assert content_hash("t", "同一正文。") == content_hash("t", "同一 正文")  # punctuation and spaces do not count


def test_syndicated_story_is_near_duplicate_and_others_are_not(seeds):
    (t1, b1), (t2, b2) = _seed_pair(seeds)
    issue = parse_issue(next(seeds.glob("000_*.txt")).read_text(encoding="utf-8"))
    other = issue.items[1]
    assert similarity(signature(t1, b1), signature(t2, b2)) >= 0.8
    assert similarity(signature(t1, b1), signature(other.title, "\n".join(other.body))) < 0.1


def test_assign_cluster_groups_copies_under_the_earliest(db, seeds):
    (t1, b1), (t2, b2) = _seed_pair(seeds)
    day = datetime(2025, 8, 31, tzinfo=timezone.utc)
    with db.session() as session:
        reprint = _article("http://cq.people.com.cn/n2/2025/0831/c1.html", t1, b1, "人民网", day + timedelta(hours=3))
        session.add(reprint)
        session.flush()
        assign_cluster(session, reprint)
        assert reprint.cluster_id == reprint.id
        unrelated = _article("http://example.com/other", "别的新闻", "完全不同的内容，讲的是另一件事。" * 10, "光明网", day)
        session.add(unrelated)
        session.flush()
        assign_cluster(session, unrelated)
        assert unrelated.cluster_id == unrelated.id
        # the newspaper's own page, published earlier, arrives later: the whole cluster takes its id
        paper = _article("https://app.cqrb.cn/epaper/x.html", t2, b2, "重庆日报", day)
        session.add(paper)
        session.flush()
        assign_cluster(session, paper)
        ids = (reprint.id, unrelated.id, paper.id)
    with db.session() as session:
        reprint, unrelated, paper = (session.get(Article, i) for i in ids)
        assert paper.cluster_id == paper.id
        assert reprint.cluster_id == paper.id
        assert unrelated.cluster_id == unrelated.id
        assert reprint.minhash and paper.content_hash and len(paper.content_hash) == 40


def test_copies_far_apart_in_time_are_not_compared(db):
    body = "医检互认数字化改革惠及百姓，患者检查结果在医疗机构间共享。" * 5
    with db.session() as session:
        old = _article("http://a.example/1", "同一篇", body, "人民网", NOW - timedelta(days=30))
        session.add(old)
        session.flush()
        assign_cluster(session, old)
        new = _article("http://b.example/1", "同一篇", body, "光明网", NOW)
        session.add(new)
        session.flush()
        assign_cluster(session, new)
        assert new.cluster_id == new.id


def test_replay_sets_reprints_are_the_only_near_duplicates():
    """The project's replay pages (fixtures/replay): each declared reprint pair is similar, nothing else is."""
    import itertools
    import json

    from crawler.db.cluster import THRESHOLD
    from crawler.extract import extract

    root = Path(__file__).resolve().parent.parent / "fixtures" / "replay"
    texts, declared = {}, set()
    for expected_file in sorted(root.glob("*/expected.json")):
        site_dir = expected_file.parent
        manifest = {}
        for line in (site_dir / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                manifest[entry["url"]] = entry
        expected = json.loads(expected_file.read_text(encoding="utf-8"))
        for article in expected["articles"]:
            page = extract((site_dir / manifest[article["url"]]["file"]).read_bytes(), article["url"])
            texts[article["url"]] = signature(page.title, page.body)
        declared |= {frozenset((d["url"], d["other_url"])) for d in expected["near_duplicates"]}
    assert declared, "the replay sets in fixtures/replay declare no near-duplicates: nothing would be checked"
    assert all(url in texts for pair in declared for url in pair), "a declared near-duplicate is not in its set"
    found = {frozenset((a, b)) for a, b in itertools.combinations(texts, 2)
             if similarity(texts[a], texts[b]) >= THRESHOLD}
    assert found == declared


def test_signature_estimates_jaccard_and_is_stable():
    """Version 2 signatures: stable bytes for a given text, unbiased estimates of the shingle Jaccard."""
    import hashlib
    import random
    import statistics

    from crawler.db.cluster import SIGNATURE_VERSION, shingles

    assert SIGNATURE_VERSION == 2
    # the bytes of one text never change within a version (a change needs a migration like 0004)
    assert hashlib.sha1(signature("互联网医院", "全面上线。" * 3)).hexdigest()[:16] == STABLE
    assert signature("", "") == b"\xff" * 512 and signature("短", "") != signature("长", "")
    rng = random.Random(7)
    words = "医疗 数据 平台 服务 患者 医院 基层 系统 信息 共享 互认 管理 健康 档案 远程 会诊 智慧 诊疗".split()
    errors = []
    for _ in range(80):
        base = ["".join(rng.choice(words) for _ in range(12)) + "。" for _ in range(12)]
        other = [line if rng.random() > rng.choice([0.1, 0.3, 0.5, 0.8]) else
                 "".join(rng.choice(words) for _ in range(12)) + "。" for line in base]
        a, b = shingles("\n" + "\n".join(base)), shingles("\n" + "\n".join(other))
        errors.append(similarity(signature("", "\n".join(base)), signature("", "\n".join(other)))
                      - len(a & b) / len(a | b))
    assert abs(statistics.fmean(errors)) < 0.02  # unbiased
    assert statistics.pstdev(errors) < 0.07  # 128 permutations: sd ≈ sqrt(J(1−J)/128) ≤ 0.045


_TEXT = st.text(alphabet=st.sampled_from(list("互联网医院全面上线。，、“”ＡＢＣａｂ１２３①㈠ﬁΣσςΑΩé\u0301\u0327 \t\nAIapp5G_-·")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(_TEXT, _TEXT)
def test_fingerprints_normalise_once_and_match_the_separate_functions(title, body):
    """The worker's fingerprints() equals content_hash() and the signature of "title\\nbody" normalised whole."""
    from crawler.analyse.minhash import _flat_hashes, _signature, fingerprints, normalise

    assert normalise(f"{title}\n{body}") == normalise(title) + normalise(body)
    assert _signature(_flat_hashes(normalise(f"{title}\n{body}"))) == signature(title, body)
    assert fingerprints(title, body) == (content_hash(title, body), signature(title, body))
