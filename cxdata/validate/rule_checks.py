"""Named rule checks: the expectations of a table grouped by the rule they enforce.

A table's suite holds many expectations; the Dagster UI shows one check per
rule (``keys``, ``not_null``, ``allowed_values``, ``ranges``,
``distributions``, ``references``, ``row_count``) so a failure says which rule
broke. The checks of a table are known when the definitions are built, from
its suite and the project's own expectations; a check is blocking when any of
its expectations is an error. Referential expectations of the fact tables run
with dim_customer's checks (`cxdata.validate.checks.check_references`), so
dim_customer carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cxdata.config import ProjectConfig
from cxdata.validate.checks import FACT_TABLES, CheckReport
from cxdata.validate.suites import ERROR, Severity, Spec, builtin_suites, project_specs

# check name: the spec kinds it holds and what it says, in the order the UI lists them
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "keys": (("unique", "compound_unique"), "Keys are unique"),
    "not_null": (("not_null",), "Required columns are filled"),
    "allowed_values": (("in_set", "match_regex"), "Values are in their allowed sets and formats"),
    "ranges": (("between",), "Values are within their ranges"),
    "distributions": (("mean_between", "median_between"), "Means and medians are within their expected bounds"),
    "references": (("in_table",), "Every customer_key of the facts is a dim_customer customer"),
    "row_count": (("row_count_between",), "The row count is within bounds and near the last run's"),
}
_RULE_OF_KIND = {kind: rule for rule, (kinds, _text) in RULES.items() for kind in kinds}


def rule_of(kind: str) -> str:
    """The name of the rule check an expectation of ``kind`` belongs to."""
    return _RULE_OF_KIND[kind]


@dataclass(frozen=True)
class RuleCheck:
    """One named check of a table: its rule, a description listing its expectations, and whether it blocks."""

    table: str
    name: str
    description: str
    blocking: bool


def _table_specs(config: ProjectConfig, table: str) -> list[Spec]:
    suites = builtin_suites(config)
    specs = [*suites.get(table, []), *project_specs(config, table)]
    if table in FACT_TABLES:
        specs = [s for s in specs if s.kind != "in_table"]
    if table == "dim_customer":
        specs += [s for fact in FACT_TABLES for s in suites.get(fact, []) if s.kind == "in_table"]
    return specs


def rule_checks(config: ProjectConfig, table: str) -> list[RuleCheck]:
    """The named checks of ``table``: one per rule its expectations use, plus ``row_count`` for every table."""
    specs = _table_specs(config, table)
    checks = []
    for rule, (_kinds, text) in RULES.items():
        held = [s for s in specs if rule_of(s.kind) == rule]
        if not held and rule != "row_count":
            continue
        listed = "; ".join(dict.fromkeys(_said(s) for s in held))
        if rule == "row_count":
            listed = "; ".join(
                filter(None, [listed, "row count near the last run's (validation.row_count_change_warn)"])
            )
        blocking = any(s.severity == ERROR for s in held)
        checks.append(RuleCheck(table, rule, f"{text}{' (blocking)' if blocking else ''}: {listed}", blocking))
    return checks


def _said(spec: Spec) -> str:
    if spec.column_pattern is not None:
        return f"{replace(spec, column='each column').description} (each column matching {spec.column_pattern})"
    return spec.description


@dataclass(frozen=True)
class RuleOutcome:
    """What one named check found in a table's report: its failures, evaluated expectations and severity."""

    name: str
    passed: bool
    severity: Severity
    failures: tuple
    evaluated: int


def outcomes(report: CheckReport, checks: list[RuleCheck]) -> list[RuleOutcome]:
    """The outcome of each named check from one table's report (failures grouped by the rule of their kind)."""
    found = []
    for check in checks:
        failures = tuple(f for f in report.all_failures if rule_of(f.kind) == check.name)
        evaluated = sum(1 for kind in report.kinds if rule_of(kind) == check.name)
        severity: Severity = ERROR if any(f.severity == ERROR for f in failures) else "warn"
        found.append(RuleOutcome(check.name, not failures, severity, failures, evaluated))
    return found
