"""A failing blocking rule check stops everything downstream in the same run; a warning rule only reports."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from cxdata.config import load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.validate.rule_checks import RULES
from pipelines.definitions import build_definitions
from pipelines.phases import run_phases
from pipelines.run import RUN_TAG

DOWNSTREAM = {"identity_record_keys", "customer_identity", "identity_merges", "fct_orders", "dim_customer"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return generate_project(tmp_path_factory.mktemp("project"), SynthParams(customers=300, seed=1))


def config_with(project, tmp_path, severity: str):
    raw = yaml.safe_load(project.config_path.read_text(encoding="utf-8"))
    raw["warehouse"] = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    raw["validation"] = {
        "docs_dir": str(tmp_path / "gx_docs"),
        "expectations": [
            {
                "table": "stg_orders",
                "column": "amount",
                "expect": "between",
                "min": 0,
                "max": 1,
                "severity": severity,
            }
        ],
    }
    path = project.config_path.parent / f"cxdata_{severity}_{tmp_path.name}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(path)


class Phases:
    """The phase runs of one cxdata run (`pipelines.phases.run_phases`) seen as one result."""

    def __init__(self, results: list[dg.ExecuteInProcessResult]) -> None:
        self.results = results
        self.success = all(result.success for result in results)

    def get_asset_check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [e for result in self.results for e in result.get_asset_check_evaluations()]

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [e for result in self.results for e in result.get_asset_materialization_events()]


def materialise(config) -> Phases:
    defs = build_definitions(config)
    with dg.DagsterInstance.ephemeral() as instance:
        return Phases(list(run_phases(defs, config, instance).values()))


def evaluations(result, asset: str) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == asset}


def materialised(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_a_failing_error_expectation_blocks_downstream_assets(project, tmp_path):
    result = materialise(config_with(project, tmp_path, "error"))
    assert not result.success
    assert "stg_orders" in materialised(result)
    assert not DOWNSTREAM & materialised(result)
    checks = evaluations(result, "stg_orders")
    # the broken rule is named: the project's range expectation fails the `ranges` check, nothing else
    assert {name for name, e in checks.items() if not e.passed} == {"ranges"}
    assert checks["ranges"].severity == dg.AssetCheckSeverity.ERROR
    assert "amount within [0, 1]" in checks["ranges"].metadata["failures"].value
    assert {"keys", "not_null", "row_count"} <= set(checks)
    assert str(tmp_path / "gx_docs") in checks["ranges"].metadata["data_docs"].value


def test_the_same_expectation_as_a_warning_lets_the_run_through(materialised_on_duckdb):
    # the shared whole-graph project carries the expectation as a warning (conftest.WARNED_EXPECTATION)
    run = materialised_on_duckdb
    # the first run checks every row of every table; the rerun only the rows it rewrote
    first, rerun = run.first, run.outcome
    assert first.success and set(first.materialised) >= DOWNSTREAM
    assert rerun.success and set(rerun.materialised) >= DOWNSTREAM
    # every other rule of every table holds on the synthetic data, the references included
    assert not first.failed_checks and not rerun.failed_checks
    quality = {check for check in first.warned_checks if check.split(":")[1] in RULES}
    assert quality == {"stg_orders:ranges"}
    assert "amount within [0, 1]" in first.warned_checks["stg_orders:ranges"]
    first_checks, rerun_checks = _evaluations(run.dagster_home, first), _evaluations(run.dagster_home, rerun)
    warning = first_checks["stg_orders", "ranges"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.metadata["scope"].value == "every row"
    references = first_checks["dim_customer", "references"]
    assert references.passed and references.metadata["expectations_evaluated"].value >= 1
    # the rerun restated only the last day of the orders: its rows alone were checked
    assert rerun_checks["stg_orders", "ranges"].metadata["scope"].value.endswith("rows this run rewrote")
    # identity resolved the rerun incrementally: its tables' checks read the rows it resolved again
    for table, rule in (
        ("identity_record_keys", "keys"),
        ("customer_identity", "keys"),
        ("identity_merges", "row_count"),
    ):
        assert rerun_checks[table, rule].metadata["scope"].value.endswith("rows this run rewrote"), table


def _evaluations(home: str, outcome) -> dict[tuple[str, str], object]:
    """Every check evaluation of a cxdata run (its staging and its build phase), by (asset, check)."""
    with dg.DagsterInstance.from_config(home) as instance:
        phases = instance.get_run_records(dg.RunsFilter(tags={RUN_TAG: outcome.run_id}))
        assert len(phases) == 2
        checked = [
            r.event_log_entry.dagster_event.event_specific_data
            for phase in phases
            for r in instance.get_records_for_run(
                phase.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
        ]
    return {(e.asset_key.to_user_string(), e.check_name): e for e in checked}
