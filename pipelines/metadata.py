"""Turn cxdata's plain profiles and plots into Dagster metadata values."""

from __future__ import annotations

import base64
import math

import dagster as dg

from cxdata.profile import Profile, published_profile
from cxdata.report import Figure
from cxdata.warehouse import Warehouse
from cxdata.warehouse.comments import comments_for


def to_metadata(profile: Profile, table: str | None = None) -> dict[str, dg.MetadataValue]:
    """Row count, column schema (each column's description from the profile, else from ``sql/<table>.sql``)
    and a preview in the shapes the Dagster UI renders best."""
    from_sql = comments_for(table) if table else []
    described = profile.descriptions or {c.column: c.text for c in from_sql if c.column}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name, dtype, description=described.get(name)) for name, dtype in profile.columns.items()
        ]
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(profile.rows),
        "dagster/column_schema": dg.MetadataValue.table_schema(schema),
        "preview": dg.MetadataValue.md(profile.preview_markdown),
        **{key: _fact(value) for key, value in profile.facts.items()},
    }


def table_description(table: str) -> str:
    """The table's own comment in ``sql/<table>.sql``, the description its asset shows."""
    described = [c.text for c in comments_for(table) if c.column is None]
    return described[0] if described else f"{table}: see sql/{table}.sql"


def published_metadata(wh: Warehouse, table: str) -> dict[str, dg.MetadataValue]:
    """`to_metadata` of ``table`` as the warehouse holds it (`cxdata.profile.published_profile`)."""
    return to_metadata(published_profile(wh, table))


def _fact(value: object) -> dg.MetadataValue:
    if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
        return dg.MetadataValue.text(str(value))
    if isinstance(value, dict):
        # Small distributions (e.g. records per customer) read best as a two-column table.
        rows = "\n".join(f"| {key} | {count} |" for key, count in value.items())
        return dg.MetadataValue.md(f"| value | count |\n|---|---|\n{rows}")
    return dg.MetadataValue.int(value) if isinstance(value, int) else dg.MetadataValue.float(float(value))


def png_markdown(name: str, png: bytes) -> str:
    """Markdown showing ``png`` inline, as the Dagster UI renders metadata images."""
    # a data URL keeps the plot with the materialisation
    return f"![{name}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def plot_metadata(plots: dict[str, bytes]) -> dict[str, dg.MetadataValue]:
    """One ``plot_<name>`` markdown image per PNG of ``plots``."""
    return {f"plot_{name}": dg.MetadataValue.md(png_markdown(name, png)) for name, png in plots.items()}


def figure_metadata(figure: Figure | None) -> dict[str, dg.MetadataValue]:
    """A report figure as ``plot_<name>`` metadata captioned like the report; nothing for None."""
    if figure is None:
        return {}
    return {f"plot_{figure.name}": dg.MetadataValue.md(png_markdown(figure.caption, figure.png))}


def trend_metadata(prefix: str, figures: dict[str, object]) -> dict[str, dg.MetadataValue]:
    """The finite numbers of ``figures`` as ``<prefix>_<name>`` int/float metadata.

    Dagster draws numeric metadata itself, run after run, in the asset's Plots tab; an image is shown only
    behind "[Show Markdown]" (the UI renders markdown inline under 1,000 characters), so the figures a team
    watches over time go out as numbers too.
    """
    found = {}
    for name, value in figures.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        found[f"{prefix}_{name}"] = _fact(value)
    return found
