"""sources.yaml: the shipped file is valid, and every kind of mistake is named by file, line, site and field."""
from __future__ import annotations

import pytest

from crawler.config import SourcesError, load_sources
from replaykit import run_cli

GOOD = """sources:
  - name: people
    label: 人民网
    hosts: [people.com.cn]
    article_patterns: ['/n1/(?P<year>\\\\d{4})/(?P<month>\\\\d{2})(?P<day>\\\\d{2})/']
    discovery:
      - type: list
        urls: [http://health.people.com.cn/GB/408564/index.html]
"""


def test_the_shipped_sources_file_is_valid():
    sources = load_sources()
    assert {"people", "xinhua", "gmw", "gmrb", "bjd", "bjrb", "bjwb", "cnr"} <= {s.name for s in sources.sources}
    assert sources.source_for_url("https://bjrbdzb.bjd.com.cn/bjwb/mobile/2025/20250902/20250902_004/"
                                  "content_20250902_004_1.htm").label == "北京晚报"
    assert sources.get("people").label_for("http://cq.people.com.cn/n2/2025/0831/c367698-41338013.html") == "人民网"


@pytest.mark.parametrize("change, expected", [
    (("    label: 人民网\n", "    label: 人民网\n    colour: red\n"), [":4:", "site 'people'", "colour", "unknown setting"]),
    (("(?P<year>", "(?P<yr>"), [":5:", "site 'people'", "article_patterns", "unknown named group"]),
    (("      - type: list\n", "      - type: atom\n"), [":7:", "site 'people'", "discovery.0", "atom"]),
    (("    hosts: [people.com.cn]\n", ""), ["site 'people'", "hosts", "required but missing"]),
    (("        urls: [", "        paginate: {template: index.html}\n        urls: ["), ["site 'people'", "{n}"]),
])
def test_each_mistake_is_named(tmp_path, change, expected):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(SourcesError) as error:
        load_sources(path)
    message = str(error.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_duplicate_names_and_broken_yaml(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text(GOOD + GOOD.split("sources:\n", 1)[1], encoding="utf-8")
    with pytest.raises(SourcesError, match="used twice"):
        load_sources(twice)
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources:\n  - name: x\n   bad: [\n", encoding="utf-8")
    result = run_cli("sources", "validate", str(broken))
    assert result.returncode == 2 and f"{broken}:3: not valid YAML" in result.stderr
    assert run_cli("sources", "validate").returncode == 0
