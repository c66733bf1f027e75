"""Each kind of spec fails on planted bad data and passes on good data, run through GX on polars frames."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import polars as pl
import pytest

from cxdata.config import ExpectationConfig, ProjectConfig, SourceConfig
from cxdata.validate import gx
from cxdata.validate.suites import ERROR, WARN, Spec, Where, builtin_suites, row_count_change, suite_for

T = "t"


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    # One docs folder for the module: the GX context is built once and reused.
    return tmp_path_factory.mktemp("gx_docs")


def run(frame: pl.DataFrame, spec: Spec, docs, **kwargs) -> gx.SuiteResult:
    return gx.validate_frame(frame, T, [spec], docs, run_name="test", **kwargs)


CASES = [
    (
        Spec(T, "not_null", ERROR, "id"),
        {"id": ["a", "b"]},
        {"id": ["a", None]},
        {"null"},
    ),
    (Spec(T, "unique", ERROR, "id"), {"id": ["a", "b"]}, {"id": ["a", "b", "b"]}, {"b"}),
    (
        Spec(T, "compound_unique", ERROR, columns=("day", "dimension_value")),
        {"day": ["d1", "d1"], "dimension_value": ["email", "all"]},
        {"day": ["d1", "d1"], "dimension_value": ["email", "email"]},
        {"d1, email"},
    ),
    (Spec(T, "between", ERROR, "share", min=0, max=1), {"share": [0.0, 1.0]}, {"share": [0.5, 1.5]}, {"1.5"}),
    (
        Spec(T, "in_set", ERROR, "kind", values=("csat", "nps")),
        {"kind": ["csat"]},
        {"kind": ["csat", "xyz"]},
        {"xyz"},
    ),
    (
        Spec(T, "match_regex", WARN, "kind", regex="(?i)^\\s*(?:sent|open)\\s*$"),
        {"kind": ["Sent", " open "]},
        {"kind": ["sent", "bounce"]},
        {"bounce"},
    ),
    (Spec(T, "row_count_between", WARN, min=2, max=3), {"id": ["a", "b"]}, {"id": ["a"]}, set()),
    (Spec(T, "mean_between", WARN, "x", min=0, max=10), {"x": [1.0, 3.0]}, {"x": [10.0, 30.0]}, set()),
    (
        Spec(T, "median_between", WARN, "x", min=0, sampled=True),
        {"x": [-1.0, 2.0, 3.0]},
        {"x": [-3.0, -2.0, 1.0]},
        set(),
    ),
    (
        Spec(T, "between", WARN, "amount", min=0, where=Where("status", ("refunded",), negate=True)),
        {"amount": [5.0, -5.0, -1.0], "status": ["completed", "refunded", None]},
        {"amount": [5.0, -7.0], "status": ["completed", "completed"]},
        {"-7.0"},
    ),
]


@pytest.mark.parametrize(("spec", "good", "bad", "samples"), CASES, ids=[c[0].kind for c in CASES])
def test_spec_passes_on_good_data_and_fails_on_bad(spec, good, bad, samples, docs):
    assert run(pl.DataFrame(good), spec, docs).failures == ()
    failed = run(pl.DataFrame(bad), spec, docs)
    assert [f.severity for f in failed.failures] == [spec.severity]
    assert failed.failures[0].description == spec.description
    assert samples <= set(failed.failures[0].samples)
    assert failed.docs_index is not None and failed.docs_index.is_file()


def test_referential_spec_names_every_orphan_key(docs):
    spec = Spec("fct_orders", "in_table", ERROR, "customer_key", reference="dim_customer.customer_key")
    keys = {"dim_customer.customer_key": pl.Series(["k1", "k2"])}
    good = pl.DataFrame({"customer_key": ["k1", "k2", None, "k1"]})
    bad = pl.DataFrame({"customer_key": ["k1", "k9", "k8", "k9", None]})
    assert run(good, spec, docs, reference_keys=keys).failures == ()
    (failure,) = run(bad, spec, docs, reference_keys=keys).failures
    assert failure.unexpected_count == 3  # every orphan row counts, not just distinct keys
    assert set(failure.samples) == {"k9", "k8"}


def test_a_check_on_an_identifying_column_keeps_no_value_in_its_result_files(tmp_path):
    spec = Spec("stg_customers", "unique", ERROR, "customer_ref")
    frame = pl.DataFrame({"customer_ref": ["CRM-ana-7", "CRM-ana-7", "CRM-bob-8"]})
    (failure,) = run(frame, spec, tmp_path).failures
    assert failure.unexpected_count == 2 and failure.samples == ()
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [text for text in written if "CRM-ana-7" in text]  # results and data docs alike
    plain = run(pl.DataFrame({"kind": ["a", "a"]}), Spec(T, "unique", ERROR, "kind"), tmp_path)
    assert plain.failures[0].samples == ("a",)  # other columns keep theirs


def test_sampled_spec_runs_on_a_sample_when_the_table_is_large(docs):
    frame = pl.DataFrame({"x": [float(i) for i in range(200)]})
    spec = Spec(T, "median_between", WARN, "x", min=1000, sampled=True)
    result = run(frame, spec, docs, sample_rows=50)
    assert result.rows == 200
    assert [f.kind for f in result.failures] == ["median_between"]


def test_a_project_expectation_on_a_missing_column_fails_and_says_so(docs):
    spec = Spec(T, "not_null", ERROR, "nope")
    (failure,) = run(pl.DataFrame({"id": ["a"]}), spec, docs).failures
    assert "nope" in (failure.observed or "")


def config(**validation) -> ProjectConfig:
    return ProjectConfig(name="t", sources={"orders": SourceConfig(path="o.csv")}, validation=validation)


def test_suite_for_adds_project_expectations_and_expands_probability_columns():
    cfg = config(
        expectations=[ExpectationConfig(table="stg_orders", column="amount", expect="between", min=0, max=1)]
    )
    specs = suite_for(cfg, "stg_orders")
    assert specs[-1].description == "project: amount within [0, 1]"
    scores = suite_for(cfg, "customer_scores", ["customer_key", "p_alive", "churn_probability", "clv"])
    probability = {s.column for s in scores if s.kind == "between"}
    assert probability == {"p_alive", "churn_probability"}
    # built-in specs on columns a table lacks are dropped
    assert all(s.column != "web_conversion_rate" for s in suite_for(cfg, "dim_customer", ["customer_key"]))


def test_every_staged_table_and_mart_has_a_key_or_not_null_error_spec():
    suites = builtin_suites(config())
    for table in [
        "stg_customers",
        "stg_orders",
        "stg_tickets",
        "stg_surveys",
        "stg_web_events",
        "stg_touches",
        "stg_touchpoint_costs",
        "identity_record_keys",
        "customer_identity",
        "fct_orders",
        "fct_tickets",
        "fct_surveys",
        "fct_web_sessions",
        "fct_touches",
        "dim_customer",
        "cx_kpis_daily",
        "customer_scores",
    ]:
        kinds = {(s.kind, s.severity) for s in suites[table]}
        assert ("not_null", ERROR) in kinds, table
    facts = [t for t in suites if t.startswith("fct_")]
    assert all(any(s.kind == "in_table" for s in suites[t]) for t in facts)


def test_row_count_change_warns_outside_the_threshold():
    spec = row_count_change("stg_orders", 100, 0.4)
    assert spec is not None and spec.severity == WARN and (spec.min, spec.max) == (60, 140)
    assert row_count_change("stg_orders", 0, 0.4) is None
    # a history grows by a whole scoring per run: only losing rows is a warning
    history = row_count_change("customer_scores_history", 300, 0.4)
    assert history is not None and (history.min, history.max) == (300, None)


def test_suites_module_does_not_import_great_expectations():
    code = "import sys, cxdata.validate.suites, cxdata.validate.checks; print('great_expectations' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_orders_in_another_currency_than_the_projects_warn(docs):
    project = ProjectConfig(name="t", currency="USD", sources={"orders": SourceConfig(path="o.csv")})
    (spec,) = [s for s in suite_for(project, "fct_orders") if s.column == "currency"]
    assert spec.severity == WARN and spec.values == ("USD",)
    (failure,) = run(pl.DataFrame({"currency": ["USD", "EUR"]}), replace(spec, table=T), docs).failures
    assert list(failure.samples) == ["EUR"]
