"""Ingest: read each configured source and map it onto the canonical input contract."""

from cxdata.io.readers import SOURCE_COLUMN, read_labelled, read_source, source_files
from cxdata.io.staging import LOADED_AT_COLUMN, Staged, load_table, map_columns, stage_table, standardise

__all__ = [
    "LOADED_AT_COLUMN",
    "SOURCE_COLUMN",
    "Staged",
    "load_table",
    "map_columns",
    "read_labelled",
    "read_source",
    "source_files",
    "stage_table",
    "standardise",
]
