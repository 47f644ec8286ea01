"""The folders are the pipeline's stages: no module imports a later stage, and the early stages import no Scrapy."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# stage of each module prefix, in the order data flows; the longest matching prefix decides
STAGES = {
    "crawler": 0, "crawler.config": 0, "crawler.window": 0, "crawler.urls": 0, "crawler.yamlfile": 0,
    "crawler.logs": 0,
    "crawler.logformatter": 4,
    "crawler.extract": 1,
    "crawler.analyse": 2,
    "crawler.db": 3,
    "crawler.settings": 4, "crawler.middlewares": 4, "crawler.extensions": 4, "crawler.browser": 4, "pipelines": 4, "spiders": 4,
    "crawler.run": 5, "crawler.suggest": 5,
    "crawler.digest": 6,
    "crawler.web": 7,
    "crawler.cli": 8,
}
NO_SCRAPY_BELOW = 4  # extract, analyse and db work without Scrapy or Twisted running


def stage(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in STAGES:
            return STAGES[".".join(parts[:n])]
    return None


def modules() -> dict[str, Path]:
    found = {}
    for folder in ("crawler", "spiders", "pipelines"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def test_every_module_has_a_stage():
    assert [name for name in modules() if stage(name) is None] == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_imports_a_later_stage(name):
    own = stage(name)
    upward = sorted(m for m in imports(modules()[name]) if (s := stage(m)) is not None and s > own)
    assert upward == [], f"{name} (stage {own}) imports a later stage: {upward}"
    if own < NO_SCRAPY_BELOW:
        frameworks = sorted(m for m in imports(modules()[name]) if m.split(".")[0] in ("scrapy", "twisted"))
        assert frameworks == [], f"{name} must work without Scrapy: imports {frameworks}"


def test_the_check_catches_an_upward_import(tmp_path):
    """The walk sees imports inside functions too (the checker itself can fail)."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from crawler.db.store import store\n")
    assert "crawler.db.store" in imports(sample) and stage("crawler.db.store") > stage("crawler.extract.core")
