"""Run `Spec` suites with Great Expectations 1.x and build its data docs.

This is the only module that imports great_expectations, and it does so inside
functions: the import takes seconds, and importing cxdata must stay cheap.

Two ways in:

- `validate_frame` validates a polars frame. GX gets it as a pandas frame
  (``frame.to_pandas()``) through the pandas datasource as a whole-dataframe
  batch; besides the lifetimes models this is the one place cxdata converts to
  pandas. The DuckDB warehouse goes this way, because GX's SQL datasource is
  broken on DuckDB in GX 1.x.
- `validate_postgres` runs GX against the warehouse table itself through GX's
  postgres datasource, so the rows never leave the database. The connection
  string reaches GX as a ``${variable}`` resolved from the context's runtime
  environment, so no password is written to the GX project files.

Referential specs (``in_table``) cover every row: on a frame, the reference
keys are anti-joined in polars into a column that holds the orphan key (null
otherwise) and GX expects that column to be null, so its unexpected values are
the orphan keys; on PostgreSQL an `UnexpectedRowsExpectation` selects them.

GX's context is in memory, one per process and docs folder; only validation
results and data docs reach ``<docs_dir>/gx``, each file written atomically
(see `cxdata.validate.gx_store`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from cxdata import schema
from cxdata.validate.suites import ERROR, WARN, Severity, Spec

SAMPLES = 5
# Columns whose values name a person: a suite checking one of them keeps no sample value in its results, since
# the result files outlive the rows (an erased person's value would stay in the data docs).
IDENTIFYING = schema.PERSONAL_COLUMNS | {"customer_ref", "anonymous_id", "session_id", "identifier_value"}
KEEP_RESULTS = 10  # validation results kept per suite; older ones leave the store and the docs index
_FRAMES_DATASOURCE = "cxdata_frames"
_WHOLE = "whole"
_ORPHAN = "__orphan_of__"


@dataclass(frozen=True)
class Failure:
    """One failed expectation: what it checked, how badly it failed and some of the values that broke it."""

    table: str
    kind: str
    column: str | None
    severity: Severity
    description: str
    unexpected_count: int | None
    observed: str | None
    samples: tuple[str, ...]


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of one table's suite: rows seen, specs evaluated, failures and the data docs index."""

    table: str
    rows: int
    evaluated: int
    failures: tuple[Failure, ...]
    docs_index: Path | None

    def failed(self, severity: Severity) -> list[Failure]:
        """The failures of one severity."""
        return [f for f in self.failures if f.severity == severity]

    def success(self, severity: Severity) -> bool:
        """Whether every spec of ``severity`` passed."""
        return not self.failed(severity)


# -- data docs -------------------------------------------------------------------------


def docs_index(docs_dir: Path) -> Path:
    """Where the data docs site's index page is (built by the first validation)."""
    return docs_dir.resolve() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


# -- specs to expectations --------------------------------------------------------------


def _condition(spec: Spec) -> Any:
    from great_expectations.expectations.row_conditions import Column

    where = spec.where
    if where is None:
        return None
    present = Column(where.column).is_not_null()
    values = list(where.values)
    if len(values) == 1 and not where.negate:
        return present & (Column(where.column) == values[0])
    return present & (
        Column(where.column).is_not_in(values) if where.negate else Column(where.column).is_in(values)
    )


def _expectation(spec: Spec, index: int, orphan_query: str | None = None) -> Any:
    import great_expectations as gx

    e = gx.expectations
    common: dict[str, Any] = {
        "description": spec.description,
        "severity": "critical" if spec.severity == ERROR else "warning",
        "meta": {"cxdata_spec": index},
    }
    condition = _condition(spec)
    if condition is not None:
        common["row_condition"] = condition
    bounds = {"min_value": spec.min, "max_value": spec.max}
    column = spec.column
    match spec.kind:
        case "not_null":
            return e.ExpectColumnValuesToNotBeNull(column=column, **common)
        case "unique":
            return e.ExpectColumnValuesToBeUnique(column=column, **common)
        case "compound_unique":
            return e.ExpectCompoundColumnsToBeUnique(column_list=list(spec.columns), **common)
        case "between":
            return e.ExpectColumnValuesToBeBetween(column=column, **bounds, **common)
        case "in_set":
            return e.ExpectColumnValuesToBeInSet(column=column, value_set=list(spec.values), **common)
        case "match_regex":
            return e.ExpectColumnValuesToMatchRegex(column=column, regex=spec.regex, **common)
        case "row_count_between":
            return e.ExpectTableRowCountToBeBetween(**bounds, **common)
        case "mean_between":
            return e.ExpectColumnMeanToBeBetween(column=column, **bounds, **common)
        case "median_between":
            return e.ExpectColumnMedianToBeBetween(column=column, **bounds, **common)
        case "in_table" if orphan_query is not None:
            return e.UnexpectedRowsExpectation(unexpected_rows_query=orphan_query, **common)
        case "in_table":
            return e.ExpectColumnValuesToBeNull(column=orphan_column(spec), **common)
    raise ValueError(f"unknown expectation kind {spec.kind!r}")


def orphan_column(spec: Spec) -> str:
    """The helper column holding ``spec.column`` where it is missing from the reference (null otherwise)."""
    assert spec.reference is not None
    return f"{spec.column}{_ORPHAN}{spec.reference.split('.')[0]}"


# -- running ----------------------------------------------------------------------------


def _suite(context: Any, name: str, expectations: list[Any]) -> Any:
    import great_expectations as gx

    # A suite is set-like (add_expectation drops one equal to an expectation it holds), but adding to a suite
    # whose name is stored writes the whole suite back on every add: the suite is built whole, then stored once.
    kept: list[Any] = []
    for expectation in expectations:
        if not any(gx.ExpectationSuite._expectations_are_equalish(expectation, k) for k in kept):
            kept.append(expectation)
    return context.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=kept))


def _run(
    context: Any,
    name: str,
    batch: Any,
    expectations: list[Any],
    run_name: str,
    frame: Any = None,
    result_format: str = "SUMMARY",
    samples: int = SAMPLES,
) -> Any:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    suite = _suite(context, name, expectations)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
    return definition.run(
        batch_parameters=None if frame is None else {"dataframe": frame},
        result_format={"result_format": result_format, "partial_unexpected_count": samples},
        run_id=run_id,
    )


def _samples_kept(specs: Sequence[Spec]) -> int:
    """How many sample values a run of ``specs`` keeps: none when one of them checks an identifying column."""
    checked = {c for spec in specs for c in (spec.column, *(spec.columns or ())) if c is not None}
    return 0 if checked & IDENTIFYING else SAMPLES


def _frame_batch(context: Any, asset_name: str) -> Any:
    # reused with its assets: re-adding the datasource would rewrite it, its assets and batch definitions each time
    sources = context.data_sources
    source = sources.all().get(_FRAMES_DATASOURCE) or sources.add_pandas(_FRAMES_DATASOURCE)
    asset = next((a for a in source.assets if a.name == asset_name), None) or source.add_dataframe_asset(
        asset_name
    )
    existing = next((b for b in asset.batch_definitions if b.name == _WHOLE), None)
    return existing or asset.add_batch_definition_whole_dataframe(_WHOLE)


def _with_orphans(
    frame: pl.DataFrame, specs: Sequence[Spec], reference_keys: Mapping[str, pl.Series]
) -> pl.DataFrame:
    added = []
    for spec in specs:
        if spec.kind != "in_table" or spec.reference is None:
            continue
        keys = reference_keys.get(spec.reference)
        if keys is None:
            raise ValueError(f"{spec.description}: no keys of {spec.reference} were given")
        value = pl.col(spec.column)
        orphan = pl.when(value.is_not_null() & ~value.is_in(keys.drop_nulls().unique().implode())).then(value)
        added.append(orphan.alias(orphan_column(spec)))
    return frame.with_columns(added) if added else frame


def validate_frame(
    frame: pl.DataFrame,
    table: str,
    specs: Sequence[Spec],
    docs_dir: Path,
    *,
    run_name: str = "adhoc",
    sample_rows: int = 100_000,
    reference_keys: Mapping[str, pl.Series] | None = None,
) -> SuiteResult:
    """Validate ``frame`` as ``table`` with GX's pandas datasource and rebuild the data docs.

    ``reference_keys`` maps each ``in_table`` spec's reference (``"dim_customer.customer_key"``)
    to that table's keys. Sampled specs run on ``sample_rows`` random rows when the frame is larger.
    """
    columns = {c for spec in specs for c in spec.needed_columns if c in frame.columns}
    # a table-level spec needs no column, but the frame must keep its rows
    prepared = _with_orphans(frame.select(sorted(columns) or frame.columns[:1]), specs, reference_keys or {})
    indexed = list(enumerate(specs))
    full = [(i, s) for i, s in indexed if not (s.sampled and frame.height > sample_rows)]
    sampled = [(i, s) for i, s in indexed if s.sampled and frame.height > sample_rows]
    from cxdata.validate.gx_store import session

    with session(docs_dir) as context:
        results = []
        for suffix, chosen, data in (
            ("", full, prepared),
            (".sampled", sampled, prepared.sample(min(sample_rows, frame.height), seed=0) if sampled else None),
        ):
            if not chosen:
                continue
            name = f"{table}{suffix}"
            expectations = [_expectation(spec, i) for i, spec in chosen]
            batch = _frame_batch(context, name)
            kept = _samples_kept([spec for _, spec in chosen])
            results.append(_run(context, name, batch, expectations, run_name, data.to_pandas(), samples=kept))
        index = _finish(context, docs_dir, run_name, {f"{table}{s}" for s in ("", ".sampled")}, results)
    return _summarise(table, frame.height, specs, results, index)


def validate_postgres(
    url: str | sa.URL,
    db_schema: str,
    table: str,
    specs: Sequence[Spec],
    docs_dir: Path,
    *,
    run_name: str = "adhoc",
    rows: int | None = None,
) -> SuiteResult:
    """Validate warehouse table ``db_schema.table`` in place through GX's postgres datasource.

    Every spec, sampled ones included, runs in the database over the whole table.
    """
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    secret = parsed.render_as_string(hide_password=False)
    # One datasource per server and schema; its name and variable say nothing of the password.
    tag = hashlib.sha256(f"{parsed.render_as_string(hide_password=True)}|{db_schema}".encode()).hexdigest()[:10]
    variable = f"CXDATA_GX_WAREHOUSE_{tag}"
    quote = sa.dialects.postgresql.dialect().identifier_preparer.quote
    from cxdata.validate.gx_store import session

    with session(docs_dir) as context:
        # reused with its assets while the password is the one it connected with (re-adding it connects again)
        source = context.data_sources.all().get(f"warehouse_{tag}")
        if source is None or context.runtime_environment.get(variable) != secret:
            context.runtime_environment[variable] = secret
            source = context.data_sources.add_or_update_postgres(
                f"warehouse_{tag}", connection_string=f"${{{variable}}}"
            )
        asset = next((a for a in source.assets if a.name == table), None)
        if asset is None:
            with warnings.catch_warnings():
                # GX prefers the schema in the connection string; this datasource serves one schema anyway.
                warnings.simplefilter("ignore", DeprecationWarning)
                asset = source.add_table_asset(table, table_name=table, schema_name=db_schema)
        batch = next((b for b in asset.batch_definitions if b.name == _WHOLE), None)
        batch = batch or asset.add_batch_definition_whole_table(_WHOLE)
        # Only the complete format returns the orphan rows (GX caps them); it would list every bad value elsewhere.
        suites: dict[str, tuple[str, list[tuple[Spec, Any]]]] = {
            "": ("SUMMARY", []),
            ".references": ("COMPLETE", []),
        }
        for i, spec in enumerate(specs):
            if spec.kind == "in_table" and spec.reference is not None and spec.column is not None:
                ref_table, ref_column = spec.reference.split(".")
                column, ref_column = quote(spec.column), quote(ref_column)
                reference = f"{quote(db_schema)}.{quote(ref_table)}"
                # {batch} is GX's subquery of the validated table (aliased by GX in some queries, not in others,
                # so never here). NOT EXISTS, an anti join, not NOT IN: PostgreSQL runs NOT IN (subquery) as a
                # hashed subplan only while the keys fit in work_mem, past that (a few hundred thousand keys) as a
                # scan of the keys per row. The reference's key is renamed so that {column} inside the subquery
                # can only mean the validated table's.
                keys = f"(select {ref_column} as cx_reference_key from {reference}) as r"
                orphans = (
                    f"select {column} from {{batch}} where {column} is not null and not exists "
                    f"(select 1 from {keys} where r.cx_reference_key = {column})"
                )
                suites[".references"][1].append((spec, _expectation(spec, i, orphans)))
            else:
                suites[""][1].append((spec, _expectation(spec, i)))
        results, names = [], set()
        for suffix, (result_format, chosen) in suites.items():
            if chosen:
                name = f"{table}.{tag}{suffix}"
                names.add(name)
                expectations, kept = [e for _, e in chosen], _samples_kept([spec for spec, _ in chosen])
                results.append(_run(context, name, batch, expectations, run_name, None, result_format, kept))
        index = _finish(context, docs_dir, run_name, names, results)
    return _summarise(table, rows if rows is not None else _row_count(results[0]), specs, results, index)


def _row_count(result: Any) -> int:
    counts = [r.result.get("element_count") for r in result.results if r.result.get("element_count") is not None]
    return int(counts[0]) if counts else 0


def _finish(context: Any, docs_dir: Path, run_name: str, suites: set[str], results: list[Any]) -> Path:
    store = context.validation_results_store
    keys = [k for k in store.list_keys() if k.expectation_suite_identifier.name in suites]
    keys.sort(key=lambda k: str(k.run_id.run_time))
    for old in keys[: max(0, len(keys) - KEEP_RESULTS * len(suites))]:
        store.remove_key(old)
    fresh = [k for k in keys if k.run_id.run_name == run_name][-len(suites) :]
    # the index re-renders every stored result: a passing check renders only its own page and the run's
    # last step refreshes the index once (`refresh_index`); a failure refreshes it now, where the user looks
    index = docs_index(docs_dir)
    failed = any(not r.success for r in results)
    if fresh:
        context.build_data_docs(resource_identifiers=fresh, build_index=failed or not index.is_file())
    elif not index.is_file():
        # nothing was validated (no spec applied): no page is new, and without identifiers GX would re-render
        # the page of every stored result
        _build_index(context)
    return index


def _build_index(context: Any) -> None:
    for name, site in context.variables.data_docs_sites.items():
        # the index alone: build_data_docs would re-render every stored result's page with it
        builder = context._init_site_builder_for_data_docs_site_creation(site_name=name, site_config=site)
        builder.site_index_builder.build()


def refresh_index(docs_dir: Path) -> Path | None:
    """Rebuild the data docs index page over every stored validation result; None when nothing was validated."""
    if not (docs_dir / "gx").is_dir():
        return None
    from cxdata.validate.gx_store import session

    with session(docs_dir) as context:
        _build_index(context)
    return docs_index(docs_dir)


# -- results ----------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = "null" if value is None or (isinstance(value, float) and value != value) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _samples(spec: Spec, result: dict[str, Any]) -> tuple[str, ...]:
    if spec.kind == "in_table" and result.get("details", {}).get("unexpected_rows") is not None:
        rows = result["details"]["unexpected_rows"]
        values = [next(iter(row.values())) if isinstance(row, dict) else row[0] for row in rows]
    else:
        values = result.get("partial_unexpected_list") or []
        if values and isinstance(values[0], dict):  # compound columns: one dict per offending row
            values = [", ".join(_shown(v) for v in row.values()) for row in values]
    return tuple(dict.fromkeys(_shown(v) for v in values))[:SAMPLES]


def _summarise(table: str, rows: int, specs: Sequence[Spec], results: list[Any], index: Path) -> SuiteResult:
    failures = []
    evaluated = 0
    for suite_result in results:
        for outcome in suite_result.results:
            evaluated += 1
            if outcome.success:
                continue
            spec = specs[int(outcome.expectation_config.meta["cxdata_spec"])]
            result = outcome.result or {}
            info = outcome.exception_info or {}
            messages = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
            messages.append(info.get("exception_message"))
            problem = next((m for m in messages if m), None)
            observed = result.get("observed_value")
            failures.append(
                Failure(
                    table=table,
                    kind=spec.kind,
                    column=spec.column or (", ".join(spec.columns) or None),
                    severity=spec.severity,
                    description=spec.description,
                    unexpected_count=result.get("unexpected_count", observed if spec.kind == "in_table" else None),
                    observed=_problem(problem) if problem else (None if observed is None else _shown(observed)),
                    samples=_samples(spec, result),
                )
            )
    return SuiteResult(table, rows, evaluated, tuple(failures), index)


def _problem(message: str) -> str:
    # GX repeats the SQL and a link after the cause; the first line says what went wrong.
    first = message.strip().splitlines()[0]
    return "could not evaluate: " + re.sub(r"^Error: ", "", first)[:200]


__all__ = [
    "ERROR",
    "WARN",
    "Failure",
    "SuiteResult",
    "docs_index",
    "orphan_column",
    "refresh_index",
    "validate_frame",
    "validate_postgres",
]
