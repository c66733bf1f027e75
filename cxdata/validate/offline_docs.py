"""Data docs that render offline: GX's pages without remote assets, and a static index page.

GX's pages load Bootstrap, jQuery and more from CDNs, and its index page builds
its table in JavaScript from them: offline (an air-gapped warehouse host, a
file opened from a laptop on a train) the index renders blank. Every page the
docs store writes goes through `offline_page`: remote scripts, stylesheets and
images are removed and a small stylesheet of our own is inlined, so a page needs
nothing beyond its own file. The index is replaced by `static_index`, a plain
table of every stored validation result (table, run, time, status, counts) that
links to its page.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

_REMOTE = r"""(?:https?:)?//"""
_REMOTE_TAGS = [
    re.compile(rf"""<script\b[^>]*\bsrc\s*=\s*["']{_REMOTE}[^"']*["'][^>]*>\s*</script>""", re.I),
    re.compile(rf"""<link\b[^>]*\bhref\s*=\s*["']{_REMOTE}[^"']*["'][^>]*/?>""", re.I),
    re.compile(rf"""<img\b[^>]*\bsrc\s*=\s*["']{_REMOTE}[^"']*["'][^>]*/?>""", re.I | re.S),
]
STYLE = """<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2330;line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #d5d9e0;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}a{color:#1d4ed8}code,pre{background:#f5f5f5;padding:0 .2rem}
.text-danger,.failed{color:#b91c1c}.text-success,.passed{color:#15803d}.fixed-bottom,#ge-cta-footer,.cooltip .top,
.ge-index-page-table-validation-links-item .cooltip span,footer{display:none}ul{padding-left:1.2rem}
</style>"""
_HEAD_END = re.compile(r"</head\s*>", re.I)


def offline_page(text: str) -> str:
    """``text`` (a data docs page) without remote scripts, stylesheets and images, with an inline stylesheet."""
    for tag in _REMOTE_TAGS:
        text = tag.sub("", text)
    if _HEAD_END.search(text):
        return _HEAD_END.sub(lambda m: STYLE + m.group(0), text, count=1)
    return STYLE + text


def static_index(site_dir: Path, results_dir: Path) -> str:
    """The data docs index as static HTML: one row per stored validation result with a page, newest first."""
    rows = []
    for result_file in results_dir.rglob("*.json") if results_dir.is_dir() else ():
        relative = result_file.relative_to(results_dir).with_suffix(".html")
        page = site_dir / "validations" / relative
        if not page.is_file():
            continue
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # damaged or half-written: the store treats it as missing and rebuilds it
        run = result.get("meta", {}).get("run_id", {})
        stats = result.get("statistics", {})
        rows.append(
            (
                str(run.get("run_time", "")),
                result.get("suite_name", relative.parts[0]),
                str(run.get("run_name", "")),
                bool(result.get("success")),
                stats.get("evaluated_expectations", 0),
                stats.get("unsuccessful_expectations", 0),
                "validations/" + relative.as_posix(),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    body = "\n".join(
        "<tr>"
        f"<td>{html.escape(table)}</td><td>{html.escape(run_name)}</td><td>{html.escape(_time(run_time))}</td>"
        f"<td class={'passed' if ok else 'failed'}>{'passed' if ok else 'failed'}</td>"
        f'<td>{evaluated}</td><td>{failed}</td><td><a href="{html.escape(link, quote=True)}">open</a></td>'
        "</tr>"
        for run_time, table, run_name, ok, evaluated, failed, link in rows
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Data docs: validation results</title>'
        f"{STYLE}</head><body><h1>Validation results</h1>"
        f"<p>{len(rows)} validation result(s), newest first. Each links to its page of expectations.</p>"
        "<table><thead><tr><th>table</th><th>run</th><th>run time (UTC)</th><th>status</th>"
        "<th>expectations</th><th>failed</th><th>page</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )


def _time(text: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
