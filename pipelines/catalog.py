"""What the Dagster UI says about the project as a whole: asset groups with their purpose, and their owners.

Dagster has no description on an asset group, so the groups and what each
holds are the definitions' metadata (shown with the code location) and each
asset is tagged with its group's owners from ``owners`` in cxdata.yaml.
"""

from collections.abc import Sequence

import dagster as dg

from cxdata.config import ProjectConfig

GROUPS = {
    "sales": "Orders from the sales system, staged onto the input contract with quarantine and audit.",
    "service": "Support tickets and surveys (CSAT, NPS, CES) from the service system, staged onto the contract.",
    "web": "Web events from the site's analytics, staged onto the contract.",
    "marketing": "Marketing touches and touchpoint costs, staged onto the contract.",
    "customer": "The single customer view: identity resolution, fact tables and dim_customer.",
    "privacy": "Erasure requests carried out, raw rows past retention purged, and who read personal data.",
    "value": "Lifetime value and churn: model evaluation on held-out time, scores, segments and their history.",
    "activation": "Segment membership history (entered, exited, time in segment) and change-only syncs.",
    "alerts": "Alerts on KPI and score shifts, and their delivery.",
    "touchpoints": (
        "Which touchpoints to invest in: lift, retention and journey credit, with intervals and verdicts."
    ),
    "bi": "Views for BI tools and the KPI mart, under friendly names and without personal data.",
    "report": "The HTML report: invest and cut lists, value at risk, segments and data quality.",
}


def owners_of(config: ProjectConfig, group: str) -> list[str]:
    """The owners of ``group``: its own entry in ``owners``, else the default entry."""
    return config.owners.get(group, config.owners.get("default", []))


def with_owners(config: ProjectConfig, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with each one's owners set from its group."""

    def owned(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(owners=owners_of(config, spec.group_name or "default"))

    return [definition.map_asset_specs(owned) for definition in assets]


def catalog_metadata(config: ProjectConfig) -> dict[str, dg.MetadataValue]:
    """The project's asset groups, their purpose and owners, as the definitions' metadata."""
    rows = [f"| {group} | {text} | {', '.join(owners_of(config, group))} |" for group, text in GROUPS.items()]
    table = "| group | holds | owners |\n|---|---|---|\n" + "\n".join(rows)
    return {"project": dg.MetadataValue.text(config.name), "asset_groups": dg.MetadataValue.md(table)}
