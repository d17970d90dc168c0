"""The study report as Markdown (``study.md``): tables, the comparisons, links to the PNGs in ``report/``."""

from __future__ import annotations

from detector.study.report_content import ReportContent

FIGURE_DIR = "report"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def md_table(rows: list[list[str]], numeric_from: int = 2) -> str:
    """A GitHub Markdown table: the first row is the header; columns from ``numeric_from`` on are right-aligned."""
    header, body = rows[0], rows[1:]
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(_cell(c) for c in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def render_markdown(c: ReportContent) -> str:
    parts = [f"# {c.title}", "", *[p + "\n" for p in c.intro]]
    parts += ["## Setup (identical for every backbone)", "", md_table([["what", "value"], *map(list, c.setup)], 9), ""]
    parts += ["## Results", "", md_table(c.table), ""]
    parts += ["## Which differences are real", ""] + [f"- {line}" for line in c.comparisons] + [""]
    parts += ["## Error breakdown (dAP50, count)", "", md_table(c.errors, 1), ""]
    parts += ["## Runs", "", md_table(c.runs), ""]
    for f in c.figures:
        parts += [f"## {f.title}", "", f"![{f.title}]({FIGURE_DIR}/{f.name})", "", f.caption, ""]
    parts += ["## Notes", ""] + [f"- {n}" for n in c.notes] + [""]
    return "\n".join(parts)
