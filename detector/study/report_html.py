"""The study report as one self-contained HTML file (``study.html``): CSS inline, figures as base64 PNG data URIs,
no scripts, no external resources; opens from disk in any browser without a server."""

from __future__ import annotations

import base64
import html

from detector.study.report_content import ReportContent

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px;
       padding: 0 1em; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.6em 0; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.55em; }
th { background: #f1f3f5; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #e2e2e2; }
figcaption { font-size: 0.88em; color: #555; } li.diff { color: #0b6b2b; } li.same { color: #555; }
code { background: #f4f4f4; padding: 0 0.25em; }
"""


def _table(rows: list[list[str]], table_id: str, numeric_from: int = 2) -> str:
    header, body = rows[0], rows[1:]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = []
    for row in body:
        cells = "".join(
            f'<td class="num">{html.escape(v)}</td>' if i >= numeric_from else f"<td>{html.escape(v)}</td>"
            for i, v in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table>'


def _text(paragraph: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    parts = html.escape(paragraph).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(c: ReportContent) -> str:
    body = [f"<h1>{html.escape(c.title)}</h1>", *(f"<p>{_text(p)}</p>" for p in c.intro)]
    body += [
        "<h2>Setup (identical for every backbone)</h2>",
        _table([["what", "value"], *map(list, c.setup)], "setup", 9),
    ]
    body += ["<h2>Results</h2>", _table(c.table, "results")]
    items = "".join(
        f'<li class="{"same" if "not different" in line else "diff"}">{_text(line)}</li>' for line in c.comparisons
    )
    body += ["<h2>Which differences are real</h2>", f'<ul id="comparisons">{items}</ul>']
    body += ["<h2>Error breakdown (dAP50, count)</h2>", _table(c.errors, "errors", 1)]
    body += ["<h2>Runs</h2>", _table(c.runs, "runs")]
    for f in c.figures:
        body.append(
            f'<h2>{html.escape(f.title)}</h2><figure id="fig-{html.escape(f.name.rsplit(".", 1)[0])}">'
            f'<img alt="{html.escape(f.title)}" src="{data_uri(f.png)}">'
            f"<figcaption>{_text(f.caption)}</figcaption></figure>"
        )
    body += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{_text(n)}</li>" for n in c.notes) + "</ul>"]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>{html.escape(c.title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
