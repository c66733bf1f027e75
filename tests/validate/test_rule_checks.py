"""Named rule checks: which checks a table gets, which block, and how a report's failures fall into them."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import ProjectConfig, SourceConfig
from cxdata.validate.checks import check_table
from cxdata.validate.rule_checks import RULES, outcomes, rule_checks, rule_of
from cxdata.validate.suites import builtin_suites
from cxdata.warehouse import Warehouse

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def config(tmp_path=None, **validation) -> ProjectConfig:
    where = {} if tmp_path is None else {"base_dir": tmp_path}
    return ProjectConfig(name="t", sources={"orders": SourceConfig(path="o.csv")}, validation=validation, **where)


def test_every_spec_kind_belongs_to_exactly_one_rule():
    kinds = [kind for kinds, _text in RULES.values() for kind in kinds]
    assert len(kinds) == len(set(kinds))
    used = {s.kind for specs in builtin_suites(config()).values() for s in specs}
    assert used <= set(kinds)


def test_a_table_gets_one_check_per_rule_it_uses_and_blocking_follows_severity():
    checks = {c.name: c for c in rule_checks(config(), "stg_orders")}
    assert {"keys", "not_null", "row_count"} <= set(checks)
    assert checks["keys"].blocking and checks["not_null"].blocking
    assert not checks["row_count"].blocking  # drift only warns
    assert "order_id is unique" in checks["keys"].description
    # a project expectation adds its rule with its severity
    project = config(expectations=[{"table": "stg_orders", "column": "amount", "expect": "between", "max": 5}])
    ranged = {c.name: c for c in rule_checks(project, "stg_orders")}["ranges"]
    assert ranged.blocking and "amount within [-inf, 5]" in ranged.description


def test_fact_references_are_dim_customers_checks_not_the_facts():
    assert "references" not in {c.name for c in rule_checks(config(), "fct_orders")}
    references = {c.name: c for c in rule_checks(config(), "dim_customer")}["references"]
    assert references.blocking and "fct_orders" not in references.description
    assert "customer_key" in references.description


def test_probability_patterns_are_described_by_their_pattern():
    ranges = {c.name: c for c in rule_checks(config(), "customer_scores")}.get("ranges")
    assert ranges is not None and "each column matching" in ranges.description


def test_failures_land_in_their_rule_and_the_others_pass(tmp_path):
    project = config(
        tmp_path, expectations=[{"table": "stg_orders", "column": "amount", "expect": "between", "max": 5}]
    )
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        wh.publish(
            "stg_orders",
            pl.DataFrame(
                {"order_id": ["a", "a", "b"], "amount": [1.0, 9.0, 2.0], "customer_ref": ["x", "y", "z"]}
            ),
        )
        report = check_table(wh, project, "stg_orders", "r1", NOW)
    found = {o.name: o for o in outcomes(report, rule_checks(project, "stg_orders"))}
    assert {name for name, o in found.items() if not o.passed} == {"keys", "ranges"}
    assert found["keys"].severity == "error" and found["ranges"].severity == "error"
    assert [f.description for f in found["ranges"].failures] == ["project: amount within [-inf, 5]"]
    assert found["row_count"].passed and found["not_null"].evaluated >= 1
    assert sum(o.evaluated for o in found.values()) == len(report.kinds) == report.evaluated
    assert all(rule_of(f.kind) in found for f in report.all_failures)
