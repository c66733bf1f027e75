"""Readers for the two kinds of source: files (CSV/Parquet, a file, glob or folder) and SQL queries.

Both return the source as it is, with a `_source` lineage column; mapping onto
the contract happens in `cxdata.io.staging`.
"""

from __future__ import annotations

import glob as globlib
import io
import re
from collections.abc import Collection
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from cxdata.config import ProjectConfig, SourceConfig, redact_url
from cxdata.config_sections import WHITESPACE
from cxdata.errors import IngestError

SOURCE_COLUMN = "_source"
_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_source(config: ProjectConfig, table: str) -> list[pl.LazyFrame]:
    """The raw rows of a configured source, one lazy frame per file (or one for a query).

    Parts are kept apart because files of one source may disagree on types
    (a naive timestamp in one, an aware one in the next); each is mapped onto
    the contract before they are stacked.

    >>> parts = read_source(load_config("cxdata.yaml"), "web_events")   # doctest: +SKIP
    """
    return [part for _, part in read_labelled(config, table)]


def read_labelled(
    config: ProjectConfig, table: str, limit: int | None = None, labels: Collection[str] | None = None
) -> list[tuple[str, pl.LazyFrame]]:
    """Like `read_source`, with each part's `_source` label (file path relative to the config, or query label);
    with ``limit``, only the first ``limit`` records of each file or of the query; with ``labels``, only the
    files of a file source that carry one of those labels (a query is always read whole)."""
    source = config.source(table)
    if source.url is not None:
        return [(source.label, _read_query(table, source, limit))]
    files = source_files(config, table)
    kind = _file_format(table, source, files)
    if labels is not None:
        files = [file for file in files if file_label(config, file) in labels]
    labelled = []
    for file in files:
        label = file_label(config, file)
        _sniff(table, label, file, kind)
        part = _scan_file(file, kind, source)
        part = part if limit is None else part.head(limit)
        labelled.append((label, part.with_columns(pl.lit(label).alias(SOURCE_COLUMN))))
    return labelled


def _sniff(table: str, label: str, file: Path, kind: str) -> None:
    """Refuse a file whose first bytes show it is not what its extension or `format` says."""
    with file.open("rb") as handle:
        head = handle.read(4096)
    where = f"source {table!r} ({label})"
    if not head:
        raise IngestError(f"{where}: the file is empty, not even a header; expected a {kind.upper()} file")
    if kind == "parquet":
        if head.startswith(b"PAR1"):
            return
        hint = "it looks like text (CSV?); set 'format: csv' or rename it" if b"\x00" not in head else ""
        raise IngestError(
            f"{where}: expected a Parquet file, but it does not start with the Parquet magic bytes 'PAR1'"
            + (f"; {hint}" if hint else "; is it a Parquet file at all?")
        )
    if head.startswith(b"PAR1"):
        raise IngestError(f"{where}: expected a CSV file, but this is a Parquet file; set 'format: parquet'")
    if head.startswith(b"PK\x03\x04"):
        raise IngestError(
            f"{where}: expected a CSV file, but this is a ZIP archive or an Excel workbook; export it as CSV"
        )
    if b"\x00" in head:
        raise IngestError(
            f"{where}: expected a CSV text file, but it holds binary data (NUL bytes); if it is UTF-16 text, "
            "save it as UTF-8, else export the data as CSV or Parquet"
        )


def source_files(config: ProjectConfig, table: str) -> list[Path]:
    """The files behind a file source, sorted, so runs read them in a stable order."""
    path = config.source_path(table)
    label = config.source(table).path
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        if not files:
            raise IngestError(f"source {table!r} ({label}): folder {str(path)!r} holds no .csv or .parquet files")
        return files
    if any(ch in str(path) for ch in "*?["):
        files = sorted(Path(p) for p in globlib.glob(str(path), recursive=True) if Path(p).is_file())
        if not files:
            raise IngestError(f"source {table!r} ({label}): no file matches the pattern {str(path)!r}")
        return files
    if not path.exists():
        raise IngestError(f"source {table!r} ({label}): file {str(path)!r} does not exist")
    return [path]


def _file_format(table: str, source: SourceConfig, files: list[Path]) -> str:
    if source.format is not None:
        return source.format
    kinds = {_SUFFIXES.get(f.suffix.lower()) for f in files}
    if None in kinds or len(kinds) != 1:
        names = ", ".join(sorted({f.suffix or f.name for f in files}))
        raise IngestError(
            f"source {table!r} ({source.path}): expected .csv or .parquet files of one kind, found {names}; "
            "set 'format: csv' or 'format: parquet' in the source config"
        )
    return kinds.pop()


def file_label(config: ProjectConfig, file: Path) -> str:
    """The `_source` label of a file: its path relative to the config's folder, else as given."""
    try:
        return str(file.relative_to(config.base_dir))
    except ValueError:
        return str(file)


def _scan_file(file: Path, kind: str, source: SourceConfig) -> pl.LazyFrame:
    if kind == "parquet":
        return pl.scan_parquet(file)
    options = source.csv
    whitespace = options.separator == WHITESPACE
    # Strings only: parsing is ours, so a bad value is reported rather than guessed at.
    common = {
        "separator": "\t" if whitespace else options.separator,
        "infer_schema": False,
        "null_values": options.null_values or None,
    }
    if options.encoding in ("utf8", "utf8-lossy") and not whitespace:
        return pl.scan_csv(file, encoding=options.encoding, **common)
    data = file.read_bytes()
    if options.encoding == "utf8-lossy":
        data = data.decode("utf-8", "replace").encode()
    elif options.encoding != "utf8":
        data = data.decode(options.encoding).encode()
    if whitespace:
        data = whitespace_to_tabs(data)
    return pl.read_csv(io.BytesIO(data), **common).lazy()


_EDGES = re.compile(rb"(?m)^[ \t]+|[ \t\r]+$")
_RUNS = re.compile(rb"[ \t]+")
_QUOTED_OR_RUN = re.compile(rb'"(?:[^"]|"")*"|[ \t]+')


def whitespace_to_tabs(data: bytes) -> bytes:
    """Text whose fields are apart by runs of spaces and tabs as tab-separated text: each line's leading and
    trailing blanks (and a CRLF's CR) dropped, every other run one tab; a run inside double quotes is kept."""
    data = _EDGES.sub(b"", data)
    if b'"' not in data:
        return _RUNS.sub(b"\t", data)
    return _QUOTED_OR_RUN.sub(lambda m: m[0] if m[0].startswith(b'"') else b"\t", data)


def _read_query(table: str, source: SourceConfig, limit: int | None = None) -> pl.LazyFrame:
    engine = sa.create_engine(source.url or "")
    try:
        with engine.connect() as conn:
            if limit is None:
                frame = pl.read_database(sa.text(source.query or ""), connection=conn)
            else:
                # the first batch only: the database streams the rest, which is never fetched
                batches = pl.read_database(
                    sa.text(source.query or ""), connection=conn, iter_batches=True, batch_size=limit
                )
                frame = next(iter(batches), pl.DataFrame())
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise IngestError(
            f"source {table!r}: the query on {redact_url(source.url or '')} failed: {reason}"
        ) from exc
    finally:
        engine.dispose()
    return frame.lazy().with_columns(pl.lit(source.label).alias(SOURCE_COLUMN))
