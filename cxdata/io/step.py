"""The staging step: ingest one source onto the input contract, quarantine bad rows, publish and audit the load.

What one orchestrated staging asset does, without the orchestrator, so a notebook can run the same thing:

    with Warehouse(config.warehouse) as wh:
        stage_step(wh, config, "orders", run_id="notebook", now=dt.datetime.now(dt.UTC))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.io import partitions
from cxdata.io.days import PARTITION_COLUMN
from cxdata.io.staging import stage_table
from cxdata.privacy.retention import expired_before
from cxdata.privacy.suppress import load_suppression
from cxdata.profile import Profile, published_profile, staging_profile, table_profile
from cxdata.validate.hints import hints
from cxdata.validate.quarantine import by_rule, share, threshold_error
from cxdata.warehouse import Warehouse


@dataclass(frozen=True)
class StageReport:
    """What `stage_step` published: profiles of the staged and the quarantine table, and the audit row."""

    staged: Profile
    quarantine: Profile
    audit: dict[str, object]


def stage_step(
    wh: Warehouse,
    config: ProjectConfig,
    table: str,
    run_id: str,
    now: dt.datetime,
    days: Collection[dt.date] | None = None,
) -> StageReport:
    """Ingest one source with its row rules: publish stg_ and quarantine_<table>, append to ``load_audit``.

    ``run_id`` and ``now`` (the run's start: the load's ``loaded_at`` and the moment "future" rows are measured
    from) are those of the run's context; its as_of is not known yet, since nothing is staged before this step.

    With ``days``, an event table read from files restates only those days (and the days their keys tie to,
    see `cxdata.io.partitions`), replacing their rows in both tables; without, or for any other source, the
    whole table is loaded and published. Both keep the file manifest and the staged days' versions.

    The quarantine table is published on every run, empty when nothing failed,
    so BI shows a zero rather than last run's rows. Over the table's
    quarantine limit, `QuarantineError` is raised only after all three are
    published, so the data team can look at what was held back.
    """
    by_day = partitions.file_sources(config, table)
    stg, held_name = f"stg_{table}", f"quarantine_{table}"
    if days is not None and by_day and not (wh.exists(stg) and PARTITION_COLUMN in wh.columns(stg)):
        days = None  # staged whole by a version without days: this load lays the days down
    files = partitions.current_files(config, table) if by_day and days is None else None
    suppression = load_suppression(wh, config)
    if days is None:
        staged, covered = stage_table(config, table, loaded_at=now, suppression=suppression), None
        if files is not None:
            files = partitions.file_days(staged, files, table)
    else:
        files = partitions.refresh_manifest(wh, config, table)
        staged, covered = partitions.stage_days(wh, config, table, days, files, now, suppression)
    kept_from = expired_before(config, table, now)
    late = partitions.stale_after(files, partitions.staged_days(wh, table), covered, kept_from) if covered else {}
    audit = {"run_id": run_id, **staged.audit, **_day_audit(covered, late)}
    # the staged rows, the rows held back, the audit that counts both and the days' versions change together
    # a load of some days replaces their rows and the rows without a day
    restated = None if covered is None else {PARTITION_COLUMN: [*covered, None]}
    with wh.transaction() as tx:
        if restated is None:
            stg_result = tx.publish(stg, staged.accepted)
            held = tx.publish(held_name, staged.quarantined)
        else:
            stg_result = tx.append(stg, staged.accepted, replace=restated)
            held = tx.append(held_name, staged.quarantined, replace=restated)
        if files is not None:
            scope = (
                {"source_table": table}
                if covered is None
                else {"source_table": table, PARTITION_COLUMN: list(covered)}
            )
            tx.append(
                partitions.STAGED,
                partitions.partition_rows(files, covered, run_id, now, table, kept_from),
                replace=scope,
            )
            if covered is None:
                tx.append(partitions.MANIFEST, files, replace={"source_table": table})
        # The audit keeps every run's loads: this load's row is added to what was there.
        tx.append("load_audit", pl.DataFrame([audit], schema_overrides=_AUDIT_TYPES))
    facts = {
        "rows_in": audit["rows_in"],
        "rows_accepted": audit["rows_accepted"],
        "rows_quarantined": audit["rows_quarantined"],
        "rows_suppressed": audit["rows_suppressed"],
        "rows_expired": audit["rows_expired"],
        "quarantine_share": round(share(int(audit["rows_in"]), int(audit["rows_quarantined"])), 6),
        "quarantine_threshold": audit["threshold"],
        "quarantined_by_rule": by_rule(staged.quarantined) or "none",
        "blank_lines": audit["blank_lines"],
        "days_restated": "all" if covered is None else len(covered),
        "rows_late": audit["rows_late"],
    }
    if late:
        facts["late_days"] = ", ".join(str(day) for day in late)
    found = hints(table, staged.quarantined)
    if found:
        facts["hints"] = found
    if covered is None:
        staged_profile = staging_profile(staged.accepted, table, str(audit["source"]), stg_result.seconds)
        held_profile = table_profile(staged.quarantined, held.seconds)
    else:
        # a load of some days: the tables are the rows it kept and those it added, described as published
        seconds = {"publish_seconds": round(stg_result.seconds, 3)}
        staged_profile = published_profile(wh, stg).with_facts({"source": str(audit["source"]), **seconds})
        days = pl.DataFrame(restated, schema={PARTITION_COLUMN: pl.Date()})
        staged_profile = replace(staged_profile, rewritten=days)
        held_profile = published_profile(wh, held_name).with_facts({"publish_seconds": round(held.seconds, 3)})
    report = StageReport(staged_profile.with_facts(facts), held_profile.with_facts(facts), audit)
    if not staged.passed:
        raise threshold_error(staged.audit, staged.quarantined, report)
    return report


_AUDIT_TYPES = {
    "loaded_at": pl.Datetime("us", "UTC"),
    "first_day": pl.Date(),
    "last_day": pl.Date(),
    "days_restated": pl.Int64(),
    "rows_late": pl.Int64(),
}


def _day_audit(covered: tuple[dt.date, ...] | None, late: dict[dt.date, int]) -> dict[str, object]:
    """The audit's day columns: the days a load restated (none: the whole table) and the late rows it left."""
    return {
        "first_day": covered[0] if covered else None,
        "last_day": covered[-1] if covered else None,
        "days_restated": len(covered) if covered is not None else None,
        "rows_late": sum(late.values()),
    }
