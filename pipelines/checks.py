"""Data-quality asset checks: one named check per rule of each staged table and mart.

The checks of a table come from one multi-asset check, so its Great
Expectations suite runs once per materialisation and each rule (keys,
not_null, allowed_values, ranges, distributions, references, row_count;
`cxdata.validate.rule_checks`) reports on its own. A rule holding an error
expectation is blocking: its failure stops every downstream asset in the run.
The referential checks of the fact tables (customer_key in dim_customer) run
with dim_customer's checks, because the facts are checked before dim_customer
is rebuilt.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the check.
import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.validate.checks import FACT_TABLES, CheckReport, check_references, check_table
from cxdata.validate.rule_checks import RuleOutcome, outcomes, rule_checks
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_id, run_start


def table_checks(config: ProjectConfig, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The named rule checks of one warehouse table, run together after it materialises."""
    table = asset_key.to_user_string()
    named = rule_checks(config, table)

    @dg.multi_asset_check(
        name=f"{table}_quality",
        specs=[
            dg.AssetCheckSpec(c.name, asset=asset_key, blocking=c.blocking, description=c.description)
            for c in named
        ],
    )
    def _check(context: dg.AssetCheckExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            this_run, facts = run_id(context), table in FACT_TABLES
            report = check_table(wh, config, table, this_run, run_start(context), referential=not facts)
            if table == "dim_customer":
                for references in check_references(wh, config, this_run):
                    report = report.merged(references)
        for outcome in outcomes(report, named):
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=outcome.name,
                passed=outcome.passed,
                severity=dg.AssetCheckSeverity.ERROR
                if outcome.severity == "error"
                else dg.AssetCheckSeverity.WARN,
                metadata=check_metadata(report, outcome),
            )

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
    """Named quality checks for every table the given assets publish."""
    return [table_checks(config, key) for assets_def in assets for key in sorted(assets_def.keys)]
