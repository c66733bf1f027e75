"""Serving fixtures: small segment, score and contact tables published to each backend, and a live server."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pytest
import sqlalchemy as sa
import uvicorn

from cxdata.serve.access import open_read_only
from cxdata.serve.api import create_app
from cxdata.serve.auth import Tokens
from cxdata.serve.segments import MONEY_COLUMNS, SCORE_COLUMNS
from cxdata.warehouse import Warehouse

EARLIER = dt.datetime(2026, 5, 31, 22, 0, tzinfo=dt.UTC)
LATEST = dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)
SEGMENTS = ["champions", "high_value_at_risk", "lost"]
RULES = [*SEGMENTS[:2], "promising_new", SEGMENTS[2]]  # promising_new is a rule nobody matches
CUSTOMERS = 30
UNSCORED = "C0000000030"  # a member without a score row: its score columns stay null
READ_TOKEN = "read-token-" + "r" * 24
PII_TOKEN = "pii-token-" + "p" * 24


def key(i: int) -> str:
    return f"C{i:010d}"


def members_at(as_of: dt.datetime, run_id: str, shift: int) -> pl.DataFrame:
    """Every customer in one segment; ``shift`` moves customers between segments from one day to the next."""
    keys = [key(i) for i in range(1, CUSTOMERS + 1)]
    return pl.DataFrame(
        {
            "segment": [SEGMENTS[(i + shift) % 3] for i in range(1, CUSTOMERS + 1)],
            "customer_key": keys,
            "as_of": [as_of] * CUSTOMERS,
            "run_id": [run_id] * CUSTOMERS,
        }
    )


def scores_at(as_of: dt.datetime, run_id: str, scale: float, members: pl.DataFrame) -> pl.DataFrame:
    """Score rows of the churn run ``run_id`` for every member but UNSCORED; clv grows with ``scale``."""
    scored = members.filter(pl.col("customer_key") != UNSCORED)
    n = scored.height
    return scored.select(
        "customer_key",
        pl.lit(as_of).alias("as_of"),
        pl.lit(f"{run_id}/clv").alias("model_run_id"),
        pl.Series("p_alive", [None if i == 1 else 0.5 + i / 100 for i in range(n)], dtype=pl.Float64),
        pl.Series("clv", [scale * (i + 1) + 1 / 3 for i in range(n)], dtype=pl.Float64),  # cents and more
        pl.Series("churn_probability", [((i * 7) % 10) / 10 for i in range(n)], dtype=pl.Float64),
        pl.lit(f"{run_id}/churn").alias("churn_model_run_id"),
        "segment",
    ).with_columns(
        (pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"),
        pl.when(pl.int_range(pl.len()) == 2).then(float("nan")).otherwise(pl.col("p_alive")).alias("p_alive"),
    )


def summary_at(members: pl.DataFrame, run_id: str) -> pl.DataFrame:
    as_of = members["as_of"][0]
    counts = members.group_by("segment").len("customers")
    return (
        pl.DataFrame({"segment": RULES, "rule_order": list(range(1, len(RULES) + 1))})
        .join(counts, on="segment", how="left")
        .with_columns(
            pl.col("customers").fill_null(0).cast(pl.Int64),
            pl.lit(1.0).alias("total_clv"),
            pl.lit(0.5).alias("total_value_at_risk"),
            pl.lit(0.25).alias("mean_churn_probability"),
            pl.lit(as_of).alias("as_of"),
            pl.lit(run_id).alias("run_id"),
        )
    )


def pii() -> pl.DataFrame:
    """Contacts; customer 1's email and phone are deliberately left unnormalised, customer 2 has none."""
    emails = [" Test@Example.COM " if i == 1 else None if i == 2 else f"user{i}@example.com" for i in range(1, 31)]
    phones = ["+34 612 345 678" if i == 1 else None if i == 2 else f"+346123{i:05d}" for i in range(1, 31)]
    return pl.DataFrame(
        {
            "customer_key": [key(i) for i in range(1, CUSTOMERS + 1)],
            "email": emails,
            "phone": phones,
            "first_name": [f"Name{i}" for i in range(1, CUSTOMERS + 1)],
            "last_name": [f"Surname{i}" for i in range(1, CUSTOMERS + 1)],
            "postcode": ["28001"] * CUSTOMERS,
        }
    )


def ref(i: int) -> str:
    return f"CRM-{i:05d}"


SHARED_EMAIL = "family@example.com"  # a household address: identity links no one by it
BLOCKED_EMAIL = "test@test.com"  # a placeholder on the blocklist


def identity() -> pl.DataFrame:
    """customer_identity as identity resolution stores it: every customer's email (trimmed, lower-cased) and
    customer_ref linked to its key; a shared and a blocked email that belong to no one."""
    contacts = pii().filter(pl.col("email").is_not_null())
    emails = contacts.select(
        pl.lit("email").alias("identifier_type"),
        pl.col("email").str.strip_chars().str.to_lowercase().alias("identifier_value"),
        "customer_key",
    )
    refs = pl.DataFrame(
        {
            "identifier_type": "customer_ref",
            "identifier_value": [ref(i) for i in range(1, CUSTOMERS + 1)],
            "customer_key": [key(i) for i in range(1, CUSTOMERS + 1)],
        }
    )
    unlinked = pl.DataFrame(
        {
            "identifier_type": ["email", "email"],
            "identifier_value": [SHARED_EMAIL, BLOCKED_EMAIL],
            "customer_key": pl.Series([None, None], dtype=pl.String),
            "status": ["shared", "blocked"],
        }
    )
    return pl.concat([pl.concat([emails, refs]).with_columns(pl.lit("linked").alias("status")), unlinked])


def fixture_tables() -> dict[str, pl.DataFrame]:
    """The tables the serving layer reads, as the churn step and the customer marts would publish them."""
    earlier = members_at(EARLIER, "r1", shift=0)
    latest = members_at(LATEST, "r2", shift=1)
    earlier_scores = scores_at(EARLIER, "r1", 10.0, earlier)
    latest_scores = scores_at(LATEST, "r2", 100.0, latest)
    # An older churn run at the earlier moment: the export must pick the run that assigned the segment.
    decoy = scores_at(EARLIER, "r0", 1000.0, earlier)
    return {
        "segment_members": pl.concat([earlier, latest]),
        "segment_summary": pl.concat([summary_at(earlier, "r1"), summary_at(latest, "r2")]),
        "customer_scores": latest_scores,
        "customer_scores_history": pl.concat([decoy, earlier_scores, latest_scores]),
        "dim_customer_pii": pii(),
        "customer_identity": identity(),
        "customer_consent": consent(),
    }


def consent(refused: frozenset[int] = frozenset(), unstated: frozenset[int] = frozenset()) -> pl.DataFrame:
    """customer_consent: every customer agreed to every purpose, but ads: the customers ``refused`` said no,
    the customers ``unstated`` never said (no row)."""
    stated = [i for i in range(1, CUSTOMERS + 1) if i not in unstated]
    return pl.DataFrame(
        {
            "customer_key": [key(i) for i in stated],
            "consent_email": [True] * len(stated),
            "consent_sms": [True] * len(stated),
            "consent_ads": [i not in refused for i in stated],
            "consent_updated_at": [EARLIER] * len(stated),
        }
    )


# sha256 of "test@example.com": the example value of many ad platforms' hashing guides.
TEST_EMAIL_SHA256 = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"


def expected_members(
    tables: dict[str, pl.DataFrame], segment: str, as_of: dt.datetime, scores: str, currency: str = "EUR"
) -> pl.DataFrame:
    """segment_members joined to the scores of the churn run that assigned the segment, by customer_key; a
    ``currency`` column after the scores when they hold amounts."""
    members = tables["segment_members"].filter((pl.col("segment") == segment) & (pl.col("as_of") == as_of))
    scored = tables[scores].with_columns(pl.col("churn_model_run_id").str.replace("/churn$", "").alias("run_id"))
    wanted = [c for c in SCORE_COLUMNS if c in scored.columns]
    return (
        members.join(
            scored.select("customer_key", "as_of", "run_id", *wanted),
            on=["customer_key", "as_of", "run_id"],
            how="left",
        )
        .select("segment", "as_of", "customer_key", *wanted)
        .with_columns(*([pl.lit(currency).alias("currency")] if set(wanted) & set(MONEY_COLUMNS) else []))
        .sort("customer_key")
    )


def as_exported(frame: pl.DataFrame, with_ids: bool = False) -> pl.DataFrame:
    """``frame`` as an export writes it: without the model run ids (unless ``with_ids``), scores rounded as
    `EXPORT_DECIMALS` says (written out here, not imported: the test states what a file holds)."""
    decimals = {"expected_spend": 2, "clv": 2, "value_at_risk": 2, "p_alive": 4, "expected_purchases": 4,
                "clv_percentile": 4, "churn_probability": 4, "churn_percentile": 4}  # fmt: skip
    ids = () if with_ids else ("model_run_id", "churn_model_run_id")
    dropped = frame.drop([c for c in ids if c in frame.columns])
    return dropped.with_columns(pl.col(c).round(n) for c, n in decimals.items() if c in frame.columns)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def published(request, tmp_path_factory):
    """(url, schema, tables) of a warehouse holding fixture_tables() on each backend, for one test module."""
    tables = fixture_tables()
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path_factory.mktemp('serve') / 'warehouse.duckdb'}", None
    else:
        url, schema = request.getfixturevalue("pg_server"), f"t_{uuid.uuid4().hex[:12]}"
    with Warehouse(url, schema) as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)
    yield url, schema, tables
    if schema is not None:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


@pytest.fixture(scope="module")
def ro(published):
    """A read-only Warehouse on the published fixture tables."""
    url, schema, _ = published
    with open_read_only(url, schema) as wh:
        yield wh


class Client:
    """One keep-alive HTTP connection to the test server."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def get(
        self, path: str, token: str | None = READ_TOKEN, method: str = "GET", **headers: str
    ) -> tuple[int, dict, bytes]:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.connection.request(method, path, headers=headers)
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()

    def json(self, path: str, token: str | None = READ_TOKEN, expect: int = 200) -> dict:
        status, _, body = self.get(path, token)
        assert status == expect, (path, status, body[:300])
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(
    url: str, schema: str | None, access: Path | None = None, unlogged: bool = False, **options
) -> Iterator[str]:
    """Base URL of a real uvicorn server on a free loopback port serving ``url`` read-only, stopped on exit;
    accesses to personal data recorded in the folder ``access`` (default: a temporary one; none when
    ``unlogged``); ``options`` override those of uvicorn.Config."""
    tokens = Tokens(
        ((READ_TOKEN.encode(), frozenset({"read"})), (PII_TOKEN.encode(), frozenset({"read", "personal"})))
    )
    spare = tempfile.TemporaryDirectory(prefix="pii-access-")
    folder = None if unlogged else access or Path(spare.name)
    app = create_app(url, tokens, schema=schema, access_folder=folder)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, **{"log_level": "warning", "access_log": False, **options}
    )
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.should_exit = True
        thread.join(timeout=10)
        spare.cleanup()


@pytest.fixture(scope="module")
def server(published):
    """Base URL of a real uvicorn server on a free loopback port, serving the fixture warehouse read-only."""
    url, schema, _ = published
    with running(url, schema) as base:
        yield base
