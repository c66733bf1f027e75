"""Warehouse tables run through streaming plans that filter and then `pl.format`, as cx_alerts does.

In polars 2.1 a frame in several chunks (the CSV parse of a PostgreSQL read, or DuckDB's Arrow batches,
make them) gets a zero-length chunk wherever the streaming engine's filter keeps no row of a chunk, and
`pl.format` panics on it (``assertion failed: i < self.len()``); the readers hand frames over in one chunk.
Whether a chunk keeps no row depends on where the few answers of the alert window fall, so each PostgreSQL
round generates a project's survey and ticket facts anew.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from cxdata.alerts.detect import detect_alerts
from cxdata.config import AlertsConfig
from cxdata.warehouse import Warehouse

END = dt.datetime(2026, 6, 30, 21, 59, 59, 999999, tzinfo=dt.UTC)
START = END - dt.timedelta(days=AlertsConfig().lookback_days)
HISTORY_DAYS = 1_000  # a handful of answers per chunk of a read falls in the 7-day alert window
ROWS = 2_000
CUSTOMERS = 3_000
ROUNDS = 8  # each round is a freshly generated project
UTC = pl.Datetime("us", "UTC")
SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}


def _instants(rng: np.random.Generator, rows: int) -> pl.Series:
    first = int((END - dt.timedelta(days=HISTORY_DAYS)).timestamp()) * 1_000_000
    micros = first + rng.integers(0, HISTORY_DAYS * 86_400, rows) * 1_000_000
    return pl.Series(micros).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _keys(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return prefix + pl.Series(numbers).cast(pl.String).str.zfill(width)


def _surveys(rng: np.random.Generator) -> pl.DataFrame:
    pick = rng.integers(0, len(SCALES), ROWS)
    kinds = np.array(list(SCALES))[pick]
    low, high = (np.array([scale[end] for scale in SCALES.values()], dtype=float)[pick] for end in (0, 1))
    scores = low + np.floor(rng.uniform(0, 1, ROWS) * (high - low + 1))
    # Most answers are content, as in a real project: three in five unhappy ones become the best score.
    unhappy = (
        ((kinds == "nps") & (scores <= 6))
        | ((kinds == "csat") & (scores <= 2))
        | ((kinds == "ces") & (scores >= 5))
    )
    scores = np.where(unhappy & (rng.uniform(0, 1, ROWS) < 0.6), np.where(kinds == "ces", low, high), scores)
    frame = pl.DataFrame(
        {
            "response_id": _keys("R", np.arange(1, ROWS + 1), 8),
            "customer_key": _keys("C", rng.integers(0, CUSTOMERS, ROWS), 10),
            "ticket_id": _keys("CS", rng.integers(1, ROWS + 1, ROWS), 7),
            "kind": kinds,
            "score": scores,
            "score_normalised": (scores - low) / (high - low),
            "channel": rng.choice(["email", "chat", "phone"], ROWS),
        }
    ).with_columns(responded_at=_instants(rng, ROWS))
    return frame.with_columns(
        responded_date=pl.col("responded_at").dt.date(),
        is_satisfied=pl.when(pl.col("kind") == "csat").then(pl.col("score") >= 4),
        nps_class=pl.when(pl.col("kind") != "nps")
        .then(None)
        .when(pl.col("score") >= 9)
        .then(pl.lit("promoter"))
        .when(pl.col("score") >= 7)
        .then(pl.lit("passive"))
        .otherwise(pl.lit("detractor")),
    )


def _tickets(rng: np.random.Generator) -> pl.DataFrame:
    hours = rng.exponential(6.0, ROWS)  # a few of them beyond the 24 h SLA
    frame = pl.DataFrame(
        {
            "ticket_id": _keys("CS", np.arange(1, ROWS + 1), 7),
            "customer_key": _keys("C", rng.integers(0, CUSTOMERS, ROWS), 10),
            "first_response_hours": hours,
            "resolution_hours": hours + rng.exponential(30.0, ROWS),
            "channel": rng.choice(["email", "chat", "phone"], ROWS),
            "category": rng.choice(["delivery", "billing", "returns"], ROWS),
        }
    ).with_columns(opened_at=_instants(rng, ROWS))
    return frame.with_columns(
        opened_date=pl.col("opened_at").dt.date(),
        # one ticket in fifty still waits for its first response
        first_response_at=pl.when(pl.int_range(pl.len()) % 50 != 7).then(
            pl.col("opened_at") + pl.duration(microseconds=pl.col("first_response_hours") * 3.6e9)
        ),
        resolved_at=pl.col("opened_at") + pl.duration(microseconds=pl.col("resolution_hours") * 3.6e9),
        is_open=pl.lit(False),
    )


def _scores(rng: np.random.Generator) -> pl.DataFrame:
    clv = rng.lognormal(3.0, 1.5, CUSTOMERS)
    return pl.DataFrame(
        {
            "customer_key": _keys("C", np.arange(CUSTOMERS), 10),
            "model_run_id": "bgnbd-gg-seed",
            "clv": clv,
            "value_at_risk": clv * rng.uniform(0, 1, CUSTOMERS),
            "segment": rng.choice(["champions", "at_risk", "lost"], CUSTOMERS),
        }
    ).with_columns(clv_percentile=pl.col("clv").rank("max") / pl.len() * 100)


def _expected_ids(
    surveys: pl.DataFrame, tickets: pl.DataFrame, scores: pl.DataFrame, config: AlertsConfig, start: dt.datetime
) -> set:
    # The rules of cxdata.alerts.detect restated on eager frames, with the default answer and SLA thresholds.
    valuable = scores.filter(pl.col("clv_percentile") >= config.min_clv_percentile)["customer_key"]
    kind, score = pl.col("kind"), pl.col("score")
    answers = surveys.filter(
        pl.col("responded_at").is_between(start, END, closed="right"),
        pl.col("customer_key").is_in(valuable.implode()),
        ((kind == "nps") & (score <= 6)) | ((kind == "csat") & (score <= 2)) | ((kind == "ces") & (score >= 5)),
    )
    due = pl.col("opened_at") + pl.duration(hours=24)
    late = tickets.filter(
        due.is_between(start, END, closed="right"),
        pl.col("customer_key").is_in(valuable.implode()),
        pl.col("first_response_at").is_null()
        | (pl.col("first_response_at") > due)
        | (pl.col("first_response_at") > END),
    )
    return {f"survey:{i}" for i in answers["response_id"]} | {f"ticket:{i}:sla" for i in late["ticket_id"]}


def test_alerts_over_postgresql_scans_match_the_rules_whatever_the_chunks(pg_schema):
    url, schema = pg_schema
    config = AlertsConfig()
    raised = 0
    with Warehouse(url, schema) as wh:
        for seed in range(ROUNDS):
            rng = np.random.default_rng(seed)
            surveys, tickets, scores = _surveys(rng), _tickets(rng), _scores(rng)
            wh.publish("fct_surveys", surveys)
            wh.publish("fct_tickets", tickets)
            wh.publish("customer_scores", scores)
            scans = (wh.scan("fct_surveys"), wh.scan("fct_tickets"), wh.scan("customer_scores"))
            found = detect_alerts(*scans, config, START, END).collect()
            expected = _expected_ids(surveys, tickets, scores, config, START)
            assert found["alert_id"].n_unique() == found.height, f"round {seed}"
            assert set(found["alert_id"]) == expected, f"round {seed}"
            raised += len(expected)
    assert raised, "the generated windows must hold alerts, or the comparison proves little"


def test_alerts_over_duckdb_scans_of_a_table_larger_than_one_arrow_batch(duckdb_url):
    # DuckDB hands a result over in batches of 122,880 rows (a row group), not always in table order, and may
    # join the short last one to another. The window's answers in the first two groups are all content, so
    # the streaming filter keeps none of their batches; the detractors are in the short last group.
    rows, group = 250_000, 122_880
    row = pl.int_range(rows, eager=True)
    tail = row >= 2 * group
    surveys = pl.DataFrame({"response_id": _keys("R", row.to_numpy(), 8)}).with_columns(
        customer_key=pl.lit("C0000000001"),
        responded_at=pl.when(pl.when(tail).then(row % 100 == 0).otherwise(row % 40_000 == 0))
        .then(pl.lit(END - dt.timedelta(days=1)))
        .otherwise(pl.lit(START)),
        kind=pl.lit("nps"),
        score=pl.when(tail).then(0.0).otherwise(10.0),
    )
    scores = pl.DataFrame({"customer_key": ["C0000000001"], "clv": [900.0], "clv_percentile": [100.0]})
    expected = [f"survey:R{n:08d}" for n in range(2 * group + 40, rows, 100)]
    with Warehouse(duckdb_url) as wh:
        # not an fct_ name: DuckDB keeps these rows in the order written, so the detractors stay at the end
        wh.publish("survey_answers", surveys)
        wh.publish("customer_scores", scores)
        for attempt in range(3):
            scans = (wh.scan("survey_answers"), None, wh.scan("customer_scores"))
            found = detect_alerts(*scans, AlertsConfig(), START, END).collect()
            assert sorted(found["alert_id"]) == expected, f"read {attempt}"
