"""The data dictionary: docs/data_dictionary.md, generated from the comment statements of ``sql/``.

    uv run python -m cxdata.warehouse.dictionary           # rewrite docs/data_dictionary.md
    uv run python -m cxdata.warehouse.dictionary --check   # exit 1 when it is out of date

The SQL files are the one place tables and views are documented; the same
comments land in the warehouse catalog on publish. Each entry also says which
PostgreSQL role may read it (see `cxdata.warehouse.roles`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cxdata.warehouse.comments import Comment, parse_comments, sql_dir
from cxdata.warehouse.roles import (
    BI_ROLE,
    MARKETING_RELATIONS,
    MARKETING_ROLE,
    PERSONAL_PREFIXES,
    is_personal,
    is_tracking_column,
)
from cxdata.warehouse.views import BI_VIEWS, VIEWS, _parse

DEFAULT_OUT = Path("docs") / "data_dictionary.md"
_VIEW_NAMES = {view.name for view in VIEWS}

_HEADER = """# cxdata data dictionary

Generated from the `comment on ...` statements in `sql/` by
`uv run python -m cxdata.warehouse.dictionary`; do not edit by hand (a test
fails when this file and `sql/` disagree). The same comments are in the
warehouse catalog: PostgreSQL applies them on every publish, DuckDB too (both
show them to BI tools that read catalog comments).

Access on PostgreSQL (`cxdata grant --config cxdata.yaml`): `cxdata_bi` reads the
BI views and every table without personal data; `cxdata_marketing` reads the
segment tables, `customer_scores`, `bi_segments`, `segment_definitions` and the pseudonymous
`marketing_segment_export`; tables marked *owner only* hold personal data
(emails, phones, names, postcodes) or raw ingest rows and are granted to no role.
Cookie and device ids and raw URLs (`anonymous_id`, `session_id`, `landing_page`,
`referrer`, any `*_url`) are personal data too: in a table a role reads, those
columns are withheld and the role reads the others (*some columns* below; the
tables keep non-personal stand-ins such as `landing_path` and `referrer_host`).
Both roles are NOLOGIN: give one to a login user with `cxdata grant --bi-member
USER` or `GRANT cxdata_bi TO USER`.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _readers(name: str, kind: str, comments: list[Comment]) -> str:
    columns = [c.column for c in comments if c.column is not None]
    if kind == "table" and name.startswith(PERSONAL_PREFIXES):
        return "owner only (raw ingest rows)"
    if kind == "table" and is_personal(name, columns):
        return "owner only (personal data)"
    readers = [BI_ROLE] if (kind == "table" or name in BI_VIEWS) else []
    if name in MARKETING_RELATIONS:
        readers.append(MARKETING_ROLE)
    shown = ", ".join(f"`{r}`" for r in readers) or "owner only"
    hidden = [c for c in columns if is_tracking_column(c)]
    if readers and hidden:
        shown += f" (some columns: {', '.join(f'`{c}`' for c in hidden)} owner only)"
    return shown


def entries(folder: Path | None = None) -> list[tuple[str, str, list[Comment]]]:
    """(name, "table" or "view", comments) for every documented object of ``sql/``, by name."""
    folder = folder or sql_dir()
    found = []
    for path in sorted(folder.glob("*.sql")):
        name = path.stem
        if "." in name:  # a dialect variant of a view: its comments are in the view's own file
            continue
        source = path.read_text(encoding="utf-8")
        if name in _VIEW_NAMES:
            found.append((name, "view", _parse(source, name, str(path))[1]))
        else:
            found.append((name, "table", parse_comments(source, name, str(path))))
    return found


def render(folder: Path | None = None) -> str:
    """The dictionary as markdown: an index, then one section per table and view with its columns."""
    documented = entries(folder)
    lines = [_HEADER, "| name | kind | readable by | description |", "|---|---|---|---|"]
    for name, kind, comments in documented:
        about = next((c.text for c in comments if c.column is None), "")
        first = about.split(". ")[0].rstrip(".")
        lines.append(f"| [{name}](#{name}) | {kind} | {_readers(name, kind, comments)} | {_cell(first)} |")
    for name, kind, comments in documented:
        about = next((c.text for c in comments if c.column is None), "(undocumented)")
        lines += [
            "",
            f"## {name}",
            "",
            f"*{kind}*, readable by {_readers(name, kind, comments)}.",
            "",
            _cell(about),
        ]
        columns = [c for c in comments if c.column is not None]
        if columns:
            lines += ["", "| column | description |", "|---|---|"]
            lines += [f"| `{c.column}` | {_cell(c.text)} |" for c in columns]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the dictionary, or with ``--check`` only compare it; the exit code says whether it was current."""
    parser = argparse.ArgumentParser(
        prog="python -m cxdata.warehouse.dictionary", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    current = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
    if args.check:
        print(f"{args.out} is {'up to date' if current else 'out of date: regenerate it'}")
        return 0 if current else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
