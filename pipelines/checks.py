"""Data-quality asset checks: one named check per rule of each staged table and mart.

Each rule (keys, not_null, allowed_values, ranges, distributions, references,
row_count; `cxdata.validate.rule_checks`) reports as its own check, all of a
table's from one run of its Great Expectations suite. The checks run in the step
that publishes the table (`quality_specs` on the asset, `quality_results` at the
end of its body), so a run has no separate check steps; a table its step may
leave unwritten (a skippable output) is checked by a multi-asset check of its
own instead (`asset_checks`). A rule holding an error expectation is blocking:
its failure fails the step after the table is published, and every downstream
asset in the run is skipped. The referential checks of the fact tables
(customer_key in dim_customer) run with dim_customer's checks, because the facts
are checked before dim_customer is rebuilt.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the check.
from collections.abc import Iterable, Mapping

import dagster as dg
import polars as pl

from cxdata.config import ProjectConfig
from cxdata.validate.checks import FACT_TABLES, CheckReport, check_references, check_table
from cxdata.validate.rule_checks import RULES, RuleCheck, RuleOutcome, outcomes, rule_checks
from cxdata.warehouse import Warehouse
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import Context, run_id, run_start


def quality_specs(config: ProjectConfig, tables: Iterable[str]) -> list[dg.AssetCheckSpec]:
    """The named rule checks of ``tables``, for the ``check_specs`` of the asset that publishes them."""
    return [
        dg.AssetCheckSpec(c.name, asset=table, blocking=c.blocking, description=c.description)
        for table in tables
        for c in rule_checks(config, table)
    ]


def quality_results(
    context: Context,
    wh: Warehouse,
    config: ProjectConfig,
    *tables: str,
    rewritten: Mapping[str, pl.DataFrame | None] | None = None,
) -> list[dg.AssetCheckResult]:
    """Run each table's suite once and return one result per named rule check of it (none for a table the
    definitions hold no rule checks of: built without checks, `quality_specs` gave the asset none).
    ``rewritten``: per table, the key values of the only rows its step rewrote (`check_table`)."""
    scopes = rewritten or {}
    return [result for table in tables for result in _table_results(context, wh, config, table, scopes.get(table))]


def _table_results(
    context: Context, wh: Warehouse, config: ProjectConfig, table: str, rewritten: pl.DataFrame | None
) -> list[dg.AssetCheckResult]:
    key = dg.AssetKey(table)
    # the checks the definitions hold (a config edited since they loaded changes the suite, not the checks)
    named = [
        RuleCheck(table, spec.name, spec.description or "", spec.blocking)
        for spec in context.op_execution_context.assets_def.check_specs
        if spec.asset_key == key and spec.name in RULES
    ]
    if not named:
        return []
    this_run = run_id(context)
    report = check_table(
        wh, config, table, this_run, run_start(context), referential=table not in FACT_TABLES, rewritten=rewritten
    )
    if table == "dim_customer":
        for references in check_references(wh, config, this_run):
            report = report.merged(references)
    return [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=outcome.name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if outcome.severity == "error" else dg.AssetCheckSeverity.WARN,
            metadata=check_metadata(report, outcome),
        )
        for outcome in outcomes(report, named)
    ]


def table_checks(table: str, specs: list[dg.AssetCheckSpec]) -> dg.AssetChecksDefinition:
    """The named rule checks (``specs``) of a table its asset's step may leave unwritten, as a step of their
    own that runs when the table was materialised."""

    @dg.multi_asset_check(name=f"{table}_quality", specs=specs)
    def _check(context: dg.AssetCheckExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            yield from quality_results(context, wh, config, table)

    return _check


def check_metadata(report: CheckReport, outcome: RuleOutcome) -> dict[str, dg.MetadataValue]:
    """One rule's failing expectations with sample values, and the data docs and row count, for the Dagster UI."""
    rows = [
        "| "
        + " | ".join(
            _cell(text)
            for text in (
                f.table,
                f.column or "",
                f.description,
                "" if f.unexpected_count is None else str(f.unexpected_count),
                f.observed or "",
                ", ".join(f.samples),
            )
        )
        + " |"
        for f in outcome.failures
    ]
    table = "| table | column | expectation | unexpected | observed | sample values |\n|---|---|---|---|---|---|\n"
    metadata = {
        "failed_expectations": dg.MetadataValue.int(len(outcome.failures)),
        "failures": dg.MetadataValue.md(table + "\n".join(rows) if rows else "All expectations held."),
        "expectations_evaluated": dg.MetadataValue.int(outcome.evaluated),
        "scope": dg.MetadataValue.text(
            "every row" if report.scope == "whole" else f"the {report.rows_checked} rows this run rewrote"
        ),
    }
    if outcome.name == "row_count":
        metadata["dagster/row_count"] = dg.MetadataValue.int(report.rows)
        metadata["row_count_change"] = dg.MetadataValue.text(
            "first check" if report.change is None else f"{report.change:+.1%}"
        )
    if outcome.failures:
        # one line for the command line's summary of a run
        said = [
            f.description + ("" if f.unexpected_count is None else f" ({f.unexpected_count} rows)")
            for f in outcome.failures
        ]
        more = f"; and {len(said) - 3} more" if len(said) > 3 else ""
        metadata["reason"] = dg.MetadataValue.text("; ".join(said[:3]) + more)
    if report.docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(report.docs_index))
    if report.skipped and outcome.name == "references":
        metadata["skipped"] = dg.MetadataValue.text("; ".join(report.skipped))
    return metadata


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def asset_checks(config: ProjectConfig, assets: list[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """Separate quality checks for the tables of ``assets`` whose own step does not check them."""
    found = []
    for assets_def in assets:
        for key in sorted(assets_def.keys):
            table = key.to_user_string()
            specs = quality_specs(config, [table])
            defined = {spec.name for spec in assets_def.check_specs if spec.asset_key == key}
            if specs and not {spec.name for spec in specs} <= defined:
                found.append(table_checks(table, specs))
    return found
