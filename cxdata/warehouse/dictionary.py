"""The data dictionary: docs/data_dictionary.md, generated from ``sql/``.

    uv run python -m cxdata.warehouse.dictionary           # rewrite docs/data_dictionary.md
    uv run python -m cxdata.warehouse.dictionary --check   # exit 1 when it is out of date
    uv run python -m cxdata.warehouse.dictionary --types-from duckdb:///.cxdata/warehouse.duckdb
                                                           # record the column types of a published warehouse

The SQL files are the one place tables and views are documented; the same
comments land in the warehouse catalog on publish. Each entry also says which
PostgreSQL role may read it (see `cxdata.warehouse.roles`), its grain and, for a
view, example queries, from structured lines of the file's header comment::

    -- grain: one row per UTC day and order_channel
    --
    -- example: Revenue by month and order channel
    --   select ...
    --   from bi_orders_by_channel_daily ...

An example is its title line and the indented lines after it (a test runs each
on DuckDB and PostgreSQL). Column types: a staged table's come from the input
contract (`cxdata.schema`), every other's from ``sql/column_types.json``, which
``--types-from`` writes from the tables and views of a published warehouse (as
the types their columns read back with, shown for PostgreSQL and DuckDB); a test
compares it with what a whole-graph run publishes on both.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cxdata import schema
from cxdata.warehouse.comments import Comment, parse_comments, sql_dir
from cxdata.warehouse.core import Warehouse
from cxdata.warehouse.roles import (
    BI_ROLE,
    MARKETING_RELATIONS,
    MARKETING_ROLE,
    PERSONAL_PREFIXES,
    is_personal,
    is_tracking_column,
)
from cxdata.warehouse.types import DUCKDB, POSTGRESQL, column_type
from cxdata.warehouse.views import BI_VIEWS, VIEWS, _parse

DEFAULT_OUT = Path("docs") / "data_dictionary.md"
TYPES_FILE = "column_types.json"
_VIEW_NAMES = {view.name for view in VIEWS}
_GRAIN = re.compile(r"--\s*grain:\s*(?P<text>.+)")
_EXAMPLE = re.compile(r"--\s*example:\s*(?P<title>.+)")
_EXAMPLE_LINE = re.compile(r"--(?P<sql> {2,}\S.*)")

_HEADER = """# cxdata data dictionary

Generated from the `comment on ...` statements in `sql/` by
`uv run python -m cxdata.warehouse.dictionary`; do not edit by hand (a test
fails when this file and `sql/` disagree). The same comments are in the
warehouse catalog: PostgreSQL applies them on every publish, DuckDB too (both
show them to BI tools that read catalog comments). Each entry states its grain
(what one row is; the `-- grain:` line of its file) and each column its type on
PostgreSQL and DuckDB: a staged table's from the input contract, the others'
from `sql/column_types.json`, recorded from a published warehouse by
`uv run python -m cxdata.warehouse.dictionary --types-from URL` and checked
against a whole-graph run on both. Views come with example queries (the
`-- example:` blocks of their files), each run by a test on both warehouses.

Null means no data and 0 means zero: a count is 0 where its source is loaded
but holds no record, a rate without a denominator is null, and every metric of
a source the project does not configure is null. Every table or view with
amounts has a `currency` column (the project setting `currency`; amounts are
never converted). Customer counts mean buyers: `dim_customer.kind` tells buyers,
known contacts and anonymous visitors apart, `bi_customer_overview` holds buyers
only and `bi_people` everyone.

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


@dataclass(frozen=True)
class Example:
    """An example query of a table or view: what it answers, and the SQL."""

    title: str
    sql: str


@dataclass(frozen=True)
class Entry:
    """One documented table or view: its comments, grain and example queries."""

    name: str
    kind: str  # "table" or "view"
    comments: list[Comment]
    grain: str | None = None
    examples: list[Example] = field(default_factory=list)


def header(source: str) -> tuple[str | None, list[Example]]:
    """The grain and the example queries a SQL file's comment lines state (see the module docstring)."""
    grain, examples, title, lines = None, [], None, []
    for line in [*source.splitlines(), ""]:
        text = line.rstrip()
        if title is not None:
            sql = _EXAMPLE_LINE.fullmatch(text)
            if sql is not None:
                lines.append(sql["sql"])
                continue
            examples.append(Example(title, textwrap.dedent("\n".join(lines))))
            title, lines = None, []
        if found := _GRAIN.fullmatch(text):
            grain = found["text"].strip()
        elif found := _EXAMPLE.fullmatch(text):
            title = found["title"].strip()
    return grain, [example for example in examples if example.sql]


def entries(folder: Path | None = None) -> list[Entry]:
    """Every documented table and view of ``sql/``, by name."""
    folder = folder or sql_dir()
    found = []
    for path in sorted(folder.glob("*.sql")):
        name = path.stem
        if "." in name:  # a dialect variant of a view: its comments are in the view's own file
            continue
        source = path.read_text(encoding="utf-8")
        if name in _VIEW_NAMES:
            kind, comments = "view", _parse(source, name, str(path))[1]
        else:
            kind, comments = "table", parse_comments(source, name, str(path))
        found.append(Entry(name, kind, comments, *header(source)))
    return found


def recorded_types(folder: Path | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """``sql/column_types.json``: relation -> column -> {"postgresql": type, "duckdb": type}."""
    path = (folder or sql_dir()) / TYPES_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _contract_types(name: str) -> dict[str, dict[str, str]]:
    """A staged table's column types from the input contract (its columns are the source's, as mapped)."""
    table = schema.TABLES.get(name.removeprefix("stg_")) if name.startswith("stg_") else None
    if table is None:
        return {}
    dtypes = {**table.polars_schema(), "_source": pl.String(), "_loaded_at": schema.UTC_TIMESTAMP}
    if table.name in schema.EVENT_TIMES:
        dtypes[schema.PARTITION_COLUMN] = pl.Date()
    return {c: {d: column_type(c, t, d) for d in (POSTGRESQL, DUCKDB)} for c, t in dtypes.items()}


def column_types(folder: Path | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """Relation -> column -> {"postgresql": type, "duckdb": type}: the contract's for staged tables, else the
    recorded ones."""
    recorded = recorded_types(folder)
    return {entry.name: _contract_types(entry.name) or recorded.get(entry.name, {}) for entry in entries(folder)}


def read_types(wh: Warehouse, names: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """The types each column of the relations ``names`` that exist in ``wh`` reads back with, per dialect."""
    found = {}
    for name in names:
        if wh.exists(name):
            dtypes = wh.read(name, limit=0).schema
            found[name] = {c: {d: column_type(c, t, d) for d in (POSTGRESQL, DUCKDB)} for c, t in dtypes.items()}
    return found


def record_types(urls: list[str], folder: Path | None = None, schema_name: str | None = None) -> Path:
    """Write ``sql/column_types.json`` from the documented relations (staged tables aside) of the warehouses at
    ``urls``, documented columns only; relations none of them has keep their recorded types."""
    folder = folder or sql_dir()
    documented = {e.name: {c.column for c in e.comments if c.column} for e in entries(folder)}
    names = [name for name in documented if not _contract_types(name)]
    types = recorded_types(folder)
    for url in urls:
        with Warehouse(url, schema_name) as wh:
            for name, columns in read_types(wh, names).items():
                types[name] = {c: kinds for c, kinds in columns.items() if c in documented[name]}
    path = folder / TYPES_FILE
    path.write_text(json.dumps(dict(sorted(types.items())), indent=1) + "\n", encoding="utf-8")
    return path


def _type(kinds: dict[str, str] | None, dialect: str) -> str:
    return f"`{kinds[dialect]}`" if kinds else "?"


def render(folder: Path | None = None) -> str:
    """The dictionary as markdown: an index, then one section per table and view with its grain, columns and
    types, and example queries."""
    documented = entries(folder)
    types = column_types(folder)
    lines = [_HEADER, "| name | kind | readable by | grain | description |", "|---|---|---|---|---|"]
    for e in documented:
        about = next((c.text for c in e.comments if c.column is None), "")
        first = about.split(". ")[0].rstrip(".")
        readers = _readers(e.name, e.kind, e.comments)
        grain = _cell(e.grain or "?")
        lines.append(f"| [{e.name}](#{e.name}) | {e.kind} | {readers} | {grain} | {_cell(first)} |")
    for e in documented:
        about = next((c.text for c in e.comments if c.column is None), "(undocumented)")
        lines += ["", f"## {e.name}", "", f"*{e.kind}*, readable by {_readers(e.name, e.kind, e.comments)}."]
        lines += ["", f"Grain: {_cell(e.grain or '(not stated)')}.", "", _cell(about)]
        columns = [c for c in e.comments if c.column is not None]
        if columns:
            lines += ["", "| column | PostgreSQL type | DuckDB type | description |", "|---|---|---|---|"]
            for c in columns:
                kinds = types[e.name].get(c.column)
                lines.append(
                    f"| `{c.column}` | {_type(kinds, POSTGRESQL)} | {_type(kinds, DUCKDB)} | {_cell(c.text)} |"
                )
        for example in e.examples:
            lines += ["", f"Example: {_cell(example.title)}", "", "```sql", example.sql, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the dictionary, or with ``--check`` only compare it; the exit code says whether it was current."""
    parser = argparse.ArgumentParser(
        prog="python -m cxdata.warehouse.dictionary", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when the file is out of date")
    parser.add_argument(
        "--types-from",
        action="append",
        metavar="URL",
        help="first record the column types of the tables and views published in this warehouse (repeatable)",
    )
    parser.add_argument("--schema", help="the warehouse schema of --types-from (default: the URL's own)")
    args = parser.parse_args(argv)
    if args.types_from:
        print(f"wrote {record_types(args.types_from, schema_name=args.schema)}")
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
