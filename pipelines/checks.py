"""Data-quality asset checks: each staged table and mart gets `error_checks` and `warning_checks`.

Both come from one multi-asset check, so a table's Great Expectations suite runs
once per materialisation: `error_checks` is blocking (a failure stops every
downstream asset in the run), `warning_checks` only reports. The referential
checks of the fact tables (customer_key in dim_customer) run with dim_customer's
checks, because the facts are checked before dim_customer is rebuilt.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the check.
import dagster as dg

from cxdata.validate.checks import FACT_TABLES, CheckReport, check_references, check_table
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_start

ERROR_CHECK, WARNING_CHECK = "error_checks", "warning_checks"


def table_checks(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The error and warning checks of one warehouse table, run together after it materialises."""
    table = asset_key.to_user_string()

    @dg.multi_asset_check(
        name=f"{table}_quality",
        specs=[
            dg.AssetCheckSpec(ERROR_CHECK, asset=asset_key, blocking=True, description="Blocking expectations"),
            dg.AssetCheckSpec(WARNING_CHECK, asset=asset_key, description="Reported expectations and row drift"),
        ],
    )
    def _check(context: dg.AssetCheckExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            run_id, facts = context.run.run_id, table in FACT_TABLES
            report = check_table(wh, config, table, run_id, run_start(context), referential=not facts)
            if table == "dim_customer":
                for references in check_references(wh, config, run_id):
                    report = report.merged(references)
        for name, severity, level in ((WARNING_CHECK, "warn", "WARN"), (ERROR_CHECK, "error", "ERROR")):
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=name,
                passed=report.passed(severity),
                severity=getattr(dg.AssetCheckSeverity, level),
                metadata=check_metadata(report, severity),
            )

    return _check


def check_metadata(report: CheckReport, severity: str) -> dict[str, dg.MetadataValue]:
    """Failing expectations with sample values, data docs, row count and its change, for the Dagster UI."""
    failures = report.failures(severity)
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
        for f in failures
    ]
    table = "| table | column | expectation | unexpected | observed | sample values |\n|---|---|---|---|---|---|\n"
    metadata = {
        "failed_expectations": dg.MetadataValue.int(len(failures)),
        "failures": dg.MetadataValue.md(table + "\n".join(rows) if rows else "All expectations held."),
        "expectations_evaluated": dg.MetadataValue.int(report.evaluated),
        "dagster/row_count": dg.MetadataValue.int(report.rows),
        "row_count_change": dg.MetadataValue.text(
            "first check" if report.change is None else f"{report.change:+.1%}"
        ),
    }
    if failures:
        # one line for the command line's summary of a run
        said = [
            f.description + ("" if f.unexpected_count is None else f" ({f.unexpected_count} rows)")
            for f in failures
        ]
        more = f"; and {len(said) - 3} more" if len(said) > 3 else ""
        metadata["reason"] = dg.MetadataValue.text("; ".join(said[:3]) + more)
    if report.docs_index is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(report.docs_index))
    if report.skipped:
        metadata["skipped"] = dg.MetadataValue.text("; ".join(report.skipped))
    return metadata


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def asset_checks(assets: list[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """Quality checks for every table the given assets publish."""
    return [table_checks(key) for assets_def in assets for key in sorted(assets_def.keys)]
