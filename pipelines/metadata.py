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
        **{key: dg.MetadataValue.text(str(value)) for key, value in profile.facts.items()},
    }
