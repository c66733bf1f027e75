"""Turn cxdata's plain profiles into Dagster metadata values."""

from __future__ import annotations

import dagster as dg

from cxdata.profile import Profile


def to_metadata(profile: Profile) -> dict[str, dg.MetadataValue]:
    """Row count, column schema and a preview in the shapes the Dagster UI renders best."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name, dtype) for name, dtype in profile.columns.items()])
    return {
        "dagster/row_count": dg.MetadataValue.int(profile.rows),
        "dagster/column_schema": dg.MetadataValue.table_schema(schema),
        "preview": dg.MetadataValue.md(profile.preview_markdown),
        **{key: _fact(value) for key, value in profile.facts.items()},
    }


def _fact(value: object) -> dg.MetadataValue:
    if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
        return dg.MetadataValue.text(str(value))
    if isinstance(value, dict):
        # Small distributions (e.g. records per customer) read best as a two-column table.
        rows = "\n".join(f"| {key} | {count} |" for key, count in value.items())
        return dg.MetadataValue.md(f"| value | count |\n|---|---|\n{rows}")
    return dg.MetadataValue.int(value) if isinstance(value, int) else dg.MetadataValue.float(float(value))
