"""The staging step: ingest one source onto the input contract, quarantine bad rows, publish and audit the load.

What one orchestrated staging asset does, without the orchestrator, so a notebook can run the same thing:

    with Warehouse(config.warehouse) as wh:
        stage_step(wh, config, "orders", run_id="notebook", now=dt.datetime.now(dt.UTC))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.io.staging import stage_table
from cxdata.profile import Profile, staging_profile, table_profile
from cxdata.validate.hints import hints
from cxdata.validate.quarantine import by_rule, share, threshold_error
from cxdata.warehouse import Warehouse


@dataclass(frozen=True)
class StageReport:
    """What `stage_step` published: profiles of the staged and the quarantine table, and the audit row."""

    staged: Profile
    quarantine: Profile
    audit: dict[str, object]


def stage_step(wh: Warehouse, config: ProjectConfig, table: str, run_id: str, now: dt.datetime) -> StageReport:
    """Ingest one source with its row rules: publish stg_ and quarantine_<table>, append to ``load_audit``.

    ``run_id`` and ``now`` (the run's start: the load's ``loaded_at`` and the moment "future" rows are measured
    from) are those of the run's context; its as_of is not known yet, since nothing is staged before this step.

    The quarantine table is published on every run, empty when nothing failed,
    so BI shows a zero rather than last run's rows. Over the table's
    quarantine limit, `QuarantineError` is raised only after all three are
    published, so the data team can look at what was held back.
    """
    staged = stage_table(config, table, loaded_at=now)
    audit = {"run_id": run_id, **staged.audit}
    # the staged rows, the rows held back and the audit that counts both change together
    with wh.transaction() as tx:
        stg = tx.publish(f"stg_{table}", staged.accepted)
        held = tx.publish(f"quarantine_{table}", staged.quarantined)
        # The audit keeps every run's loads: this load's row is added to what was there.
        tx.append("load_audit", pl.DataFrame([audit], schema_overrides={"loaded_at": pl.Datetime("us", "UTC")}))
    facts = {
        "rows_in": audit["rows_in"],
        "rows_accepted": audit["rows_accepted"],
        "rows_quarantined": audit["rows_quarantined"],
        "quarantine_share": round(share(int(audit["rows_in"]), int(audit["rows_quarantined"])), 6),
        "quarantine_threshold": audit["threshold"],
        "quarantined_by_rule": by_rule(staged.quarantined) or "none",
        "blank_lines": audit["blank_lines"],
    }
    found = hints(table, staged.quarantined)
    if found:
        facts["hints"] = found
    report = StageReport(
        staging_profile(staged.accepted, table, str(audit["source"]), stg.seconds).with_facts(facts),
        table_profile(staged.quarantined, held.seconds).with_facts(facts),
        audit,
    )
    if not staged.passed:
        raise threshold_error(staged.audit, staged.quarantined, report)
    return report
