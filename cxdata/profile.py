"""Plain profiles of a published frame: counts, columns, time span and a preview without personal data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

from cxdata import schema
from cxdata.warehouse import Warehouse

_PREVIEW_ROWS = 10
_MASK = "•••"


@dataclass(frozen=True)
class Profile:
    """What an orchestrator or a report shows about a table."""

    rows: int
    columns: dict[str, str]
    preview_markdown: str
    facts: dict[str, object] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)  # column to what it means (sql/<table>.sql)
    # key values of the rows the step rewrote when it did not rewrite the table whole (None: it did), so the
    # table's checks can read only those (`cxdata.validate.scoped`)
    rewritten: pl.DataFrame | None = None

    def with_facts(self, facts: dict[str, object]) -> Profile:
        """The same profile with more facts (later ones win)."""
        return replace(self, facts={**self.facts, **facts})


def mask_personal(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every personal column's values replaced by a mask (nulls stay null); hashed contacts
    (``*_sha256``) are pseudonymous personal data and masked too."""
    personal = [c for c in frame.columns if c in schema.PERSONAL_COLUMNS or c.endswith("_sha256")]
    return frame.with_columns(
        pl.when(pl.col(c).is_not_null()).then(pl.lit(_MASK)).otherwise(None).alias(c) for c in personal
    )


def markdown_table(frame: pl.DataFrame) -> str:
    """A small frame as a markdown table, rendered by polars itself."""
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=frame.height,
        tbl_cols=frame.width,
        fmt_str_lengths=40,
        tbl_width_chars=65_000,
    ):
        return str(frame)


def published_profile(wh: Warehouse, table: str) -> Profile:
    """Profile of a table as published: its rows, column types and descriptions (the warehouse catalog's
    comments, from sql/) and a masked preview; reads only the preview's rows."""
    preview = wh.read(table, limit=_PREVIEW_ROWS)
    comments = wh.column_comments(table)
    return Profile(
        rows=wh.row_count(table),
        columns={name: str(dtype) for name, dtype in preview.schema.items()},
        preview_markdown=markdown_table(mask_personal(preview)),
        descriptions={name: text for name, text in comments.items() if text},
    )


def table_profile(frame: pl.DataFrame, publish_seconds: float) -> Profile:
    """Profile of a published mart: size, schema and a masked preview."""
    return Profile(
        rows=frame.height,
        columns={name: str(dtype) for name, dtype in frame.schema.items()},
        preview_markdown=markdown_table(mask_personal(frame.head(_PREVIEW_ROWS))),
        facts={"publish_seconds": round(publish_seconds, 3)},
    )


def staging_profile(frame: pl.DataFrame, table: str, source: str, publish_seconds: float) -> Profile:
    """Profile of a staged input table: size, schema, time span of its main timestamp, masked preview."""
    spec = schema.table(table)
    facts: dict[str, object] = {"source": source, "publish_seconds": round(publish_seconds, 3)}
    stamps = [c.name for c in spec.columns if c.kind in ("timestamp", "date") and c.required]
    if stamps and frame.height:
        span = frame.select(first=pl.col(stamps[0]).min(), last=pl.col(stamps[0]).max()).row(0, named=True)
        facts[f"{stamps[0]}_first"] = span["first"]
        facts[f"{stamps[0]}_last"] = span["last"]
    facts["extra_columns"] = (
        ", ".join(c for c in frame.columns if c not in spec.column_names and not c.startswith("_")) or "none"
    )
    return Profile(
        rows=frame.height,
        columns={name: str(dtype) for name, dtype in frame.schema.items()},
        preview_markdown=markdown_table(mask_personal(frame.head(_PREVIEW_ROWS))),
        facts=facts,
    )
