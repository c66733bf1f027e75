"""Turn cxdata's plain profiles and plots into Dagster metadata values."""

from __future__ import annotations

import base64

import dagster as dg

from cxdata.profile import Profile
from cxdata.report import Figure


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
