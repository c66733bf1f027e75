"""Check one warehouse table against its suite and log the run in ``validation_runs``.

    with Warehouse(config.warehouse) as wh:
        report = check_table(wh, config, "fct_orders", run_id="notebook", now=dt.datetime.now(dt.UTC))
        report.passed("error"), report.failures("warn")

On DuckDB the needed columns are read into polars and validated as a frame; on
PostgreSQL GX queries the table in place (see `cxdata.validate.gx`, imported
only when a check runs). The row-count change is checked against the table's
latest row in ``validation_runs`` from an earlier run. A step that rewrote only
some rows can have only those checked between whole checks (`cxdata.validate.scoped`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.validate import scoped
from cxdata.validate.suites import Severity, Spec, row_count_change, suite_for
from cxdata.warehouse import Warehouse

if TYPE_CHECKING:
    from cxdata.validate.gx import Failure

RUNS_TABLE = "validation_runs"
FACT_TABLES = ("fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches")


@dataclass(frozen=True)
class CheckReport:
    """What checking one table found: its rows, the change since the last run, failures and the data docs."""

    table: str
    run_id: str
    rows: int
    previous_rows: int | None
    evaluated: int
    all_failures: tuple[Failure, ...]
    docs_index: Path | None
    skipped: tuple[str, ...] = field(default=())
    kinds: tuple[str, ...] = field(default=())  # the kind of every expectation evaluated, for the named checks
    scope: str = scoped.WHOLE  # whole: every row was checked; rows: only the rows the run rewrote
    rows_checked: int | None = None  # the rows read for the row rules (the table's rows when whole)

    @property
    def change(self) -> float | None:
        """Relative row-count change since the last run (0.5 = 50 % more rows), None without a last run."""
        if not self.previous_rows:
            return None
        return (self.rows - self.previous_rows) / self.previous_rows

    def failures(self, severity: Severity) -> list[Failure]:
        """The failed expectations of one severity."""
        return [f for f in self.all_failures if f.severity == severity]

    def passed(self, severity: Severity) -> bool:
        """Whether every expectation of ``severity`` held."""
        return not self.failures(severity)

    def merged(self, other: CheckReport) -> CheckReport:
        """This report with ``other``'s failures, evaluations and skips added (rows stay this table's)."""
        return replace(
            self,
            evaluated=self.evaluated + other.evaluated,
            all_failures=self.all_failures + other.all_failures,
            skipped=self.skipped + other.skipped,
            kinds=self.kinds + other.kinds,
        )


def check_table(
    wh: Warehouse,
    config: ProjectConfig,
    table: str,
    run_id: str,
    now: dt.datetime,
    *,
    referential: bool = True,
    rewritten: pl.DataFrame | None = None,
) -> CheckReport:
    """Validate ``table`` with its suite, the project's expectations and the row-count change; log the run
    (``checked_at`` is ``now``, the run's start: checks of staged tables run before the run's as_of is known).

    ``referential=False`` leaves out the ``in_table`` specs (fct_* customer_key in
    dim_customer): in a pipeline the facts are checked before dim_customer is
    rebuilt, so `check_references` runs them once dim_customer is fresh.
    ``rewritten`` (key values of the rows the run rewrote; None: all of them)
    checks only those rows, unless a whole check is due (`cxdata.validate.scoped`).
    """
    columns = wh.columns(table)
    specs = suite_for(config, table, columns)
    if not referential:
        specs = [s for s in specs if s.kind != "in_table"]
    specs, skipped = _available(wh, specs)
    previous = _previous_rows(wh, table, run_id)
    change = row_count_change(table, previous, config.validation.row_count_change_warn) if previous else None
    specs = [*specs, *([change] if change else [])]
    if rewritten is None or scoped.whole_check_due(wh, RUNS_TABLE, table, now, config.models.refit_every_days):
        report = _run(wh, config, table, run_id, specs, columns)
    else:
        report = _run_rewritten(wh, config, table, run_id, specs, rewritten)
        skipped += report.skipped
    report = replace(report, previous_rows=previous, skipped=skipped)
    _record(wh, report, now)
    return report


def check_references(wh: Warehouse, config: ProjectConfig, run_id: str) -> list[CheckReport]:
    """Run only the referential specs of the fact tables present (not logged in ``validation_runs``)."""
    reports = []
    for table in FACT_TABLES:
        if not wh.exists(table):
            continue
        specs = [s for s in suite_for(config, table, wh.columns(table)) if s.kind == "in_table"]
        specs, skipped = _available(wh, specs)
        if specs:
            reports.append(replace(_run(wh, config, table, f"{run_id}.references", specs, None), skipped=skipped))
    return reports


def _available(wh: Warehouse, specs: list[Spec]) -> tuple[list[Spec], tuple[str, ...]]:
    kept, skipped = [], []
    for spec in specs:
        reference = spec.reference.split(".")[0] if spec.reference else None
        if reference is not None and not wh.exists(reference):
            skipped.append(f"{spec.description}: {reference} does not exist yet")
        else:
            kept.append(spec)
    return kept, tuple(skipped)


def _run(
    wh: Warehouse, config: ProjectConfig, table: str, run_id: str, specs: list[Spec], columns: list[str] | None
) -> CheckReport:
    from cxdata.validate import gx

    if wh.dialect == "postgresql":
        rows = wh.row_count(table)
        result = gx.validate_postgres(
            wh.engine.url, wh.schema, table, specs, config.docs_dir, run_name=run_id, rows=rows
        )
    else:
        present = columns if columns is not None else wh.columns(table)
        needed = list(dict.fromkeys(c for s in specs for c in s.needed_columns if c in present)) or present[:1]
        frame = wh.read(table, columns=needed)
        references = _reference_keys(wh, specs)
        result = gx.validate_frame(
            frame,
            table,
            specs,
            config.docs_dir,
            run_name=run_id,
            sample_rows=config.validation.sample_rows,
            reference_keys=references,
        )
    kinds = tuple(s.kind for s in specs)
    return CheckReport(
        table, run_id, result.rows, None, result.evaluated, result.failures, result.docs_index, kinds=kinds,
        rows_checked=result.rows,
    )  # fmt: skip


def _run_rewritten(
    wh: Warehouse, config: ProjectConfig, table: str, run_id: str, specs: list[Spec], rewritten: pl.DataFrame
) -> CheckReport:
    from cxdata.validate import gx

    row_specs, key_specs, count_specs, later = scoped.split(specs)
    needed = list(dict.fromkeys(c for s in [*row_specs, *key_specs] for c in s.needed_columns))
    rows = scoped.rewritten_rows(wh, table, needed or rewritten.columns, rewritten)
    total = wh.row_count(table)
    failures = [
        *scoped.key_failures(wh, table, key_specs, rows, rewritten.columns),
        *scoped.count_failures(table, count_specs, total),
    ]
    evaluated, docs = len(key_specs) + len(count_specs), None
    if row_specs:
        checked = gx.validate_frame(
            rows,
            table,
            row_specs,
            config.docs_dir,
            run_name=run_id,
            sample_rows=config.validation.sample_rows,
            reference_keys=_reference_keys(wh, row_specs),
        )
        failures = [*checked.failures, *failures]
        evaluated, docs = evaluated + checked.evaluated, checked.docs_index
    kinds = tuple(s.kind for s in [*row_specs, *key_specs, *count_specs])
    return CheckReport(
        table, run_id, total, None, evaluated, tuple(failures), docs, later, kinds, scoped.ROWS, rows.height
    )


def _reference_keys(wh: Warehouse, specs: list[Spec]) -> dict[str, pl.Series]:
    """The keys of each table an ``in_table`` spec refers to (``"dim_customer.customer_key"``), read once."""
    return {
        s.reference: wh.read(s.reference.split(".")[0], columns=[s.reference.split(".")[1]]).to_series()
        for s in specs
        if s.kind == "in_table" and s.reference is not None
    }


def _previous_rows(wh: Warehouse, table: str, run_id: str) -> int | None:
    if not wh.exists(RUNS_TABLE):
        return None
    last = wh.query(
        f'select "rows" from {RUNS_TABLE} where table_name = :table and run_id <> :run_id'
        " order by checked_at desc limit 1",
        {"table": table, "run_id": run_id},
    )
    return None if last.is_empty() else int(last.item(0, 0))


def _record(wh: Warehouse, report: CheckReport, now: dt.datetime) -> None:
    row = {
        "run_id": report.run_id,
        "table_name": report.table,
        "rows": report.rows,
        "checked_at": now,
        "errors_failed": len(report.failures("error")),
        "warnings_failed": len(report.failures("warn")),
        "scope": report.scope,
        "rows_checked": report.rows_checked,
    }
    # an INSERT (the first creates the table with its comments): checks of several tables may run at once
    wh.append(RUNS_TABLE, pl.DataFrame([row], schema=_RUNS_SCHEMA))


_RUNS_SCHEMA = {
    "run_id": pl.String,
    "table_name": pl.String,
    "rows": pl.Int64,
    "checked_at": pl.Datetime("us", "UTC"),
    "errors_failed": pl.Int64,
    "warnings_failed": pl.Int64,
    "scope": pl.String,
    "rows_checked": pl.Int64,
}
