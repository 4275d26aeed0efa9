"""The README and docs/ stay a map that works: every relative link (and its #section) points at
something that exists, every command is in the README's table, every docs page is reachable
from the README, and the two set-up commands are the ones that exist. A link that breaks when a
section is renamed or a page moved is what a first reader hits first."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tunicorn.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside fenced code blocks: a `[x](y)` inside code is not a link."""
    return FENCE.sub("", text)


def links(page: Path) -> list[str]:
    return LINK.findall(prose(page.read_text(encoding="utf-8")))


def anchors(page: Path) -> set[str]:
    """The #fragments GitHub gives the page's headings: lower case, punctuation dropped,
    spaces as hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken(page: Path, target: str) -> str:
    """Why `target`, linked from `page`, leads nowhere ("" when it resolves)."""
    path, _, fragment = target.partition("#")
    where = os.path.relpath(page, ROOT)
    dest = (page.parent / path).resolve() if path else page
    if not dest.exists():
        return f"{where}: {target} names no file"
    if fragment and dest.suffix == ".md" and fragment not in anchors(dest):
        return f"{where}: {target} names no section of {dest.name}"
    return ""


def test_the_docs_pages_exist() -> None:
    assert PAGES, "docs/ has no pages: the README's deep explanations live there"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    relative = [t for t in links(page) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]
    assert relative or page != README, "the README links no docs page"
    problems = [why for t in relative if (why := broken(page, t))]
    assert not problems, "\n".join(problems)


def test_a_broken_link_or_section_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n## The part: `x`\n\n```\n[not](a-link.md)\n```\n")
    assert links(page) == []
    assert anchors(page) == {"a-title", "the-part-x"}
    assert broken(page, "#the-part-x") == ""
    assert "names no section" in broken(page, "#the-part")
    assert "names no file" in broken(page, "missing.md")


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(README)}
    orphans = [p.name for p in PAGES if p.resolve() not in linked]
    assert not orphans, f"docs pages the README does not link: {orphans}"


def test_the_commands_table_names_every_command() -> None:
    table = [line for line in README.read_text(encoding="utf-8").splitlines()
             if line.startswith("| `tunicorn ")]  # fmt: skip
    named = {line.split()[2].rstrip("`") for line in table}
    assert named == set(cli.commands), (
        f"README's commands table: missing {sorted(set(cli.commands) - named)}, "
        f"stale {sorted(named - set(cli.commands))}"
    )


def test_the_two_set_up_commands_are_the_real_ones() -> None:
    text = README.read_text(encoding="utf-8")
    assert "```bash\npip install -e . && tunicorn tune --demo\n```" in text
    assert "```bash\nscripts/test\n```" in text
    script = ROOT / "scripts" / "test"
    assert script.is_file() and os.access(script, os.X_OK)
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "--demo" in {opt for param in cli.commands["tune"].params for opt in param.opts}
