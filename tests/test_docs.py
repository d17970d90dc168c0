"""README.md and docs/*.md: every relative link reaches an existing file, and every ``#anchor`` a heading of it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# written by a generator from the config dataclasses, not by hand: a link to it is checked once the file exists
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped except ``-`` and ``_``, spaces ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_github_anchor_rule() -> None:
    assert github_anchor(" Quickstart training (`configs/shapes_tiny.yaml`)") == (
        "quickstart-training-configsshapes_tinyyaml"
    )
    assert github_anchor("GPU (first readings; the suite has not run on a GPU yet)") == (
        "gpu-first-readings-the-suite-has-not-run-on-a-gpu-yet"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked (no network in tests)
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(f"{target}: no file {path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading with anchor #{anchor} in {path.name}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_readme_keeps_the_ci_install_commands_and_config_key_markers() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for cmd in (
        "pip install -r requirements.txt",
        "pip install -r requirements-dev.txt",
        "pip install -r requirements-deploy.txt",
    ):
        assert cmd in readme and cmd in ci
    begin, end = readme.find("<!-- config-keys:begin -->"), readme.find("<!-- config-keys:end -->")
    assert 0 <= begin < end, "README.md lost the config-keys markers the key-table generator writes between"
