"""Erasure requests from a source: the `privacy.requests` file or query, carried out on every run, each once.

    from cxdata.privacy.requests import carry_out_requests
    outcome = carry_out_requests(wh, config, now)

A request is a row (`cxdata.schema.ERASURE_REQUESTS`): its request_id, when it was received, and the person's
customer_ref, email, phone or customer_key (any of them; rows sharing a request_id are one request naming the
person by all their identifiers). Requests already in `erasure_log` as erased or not_found are skipped, so the
source may keep every request it ever held. The rest are erased in one `erase` call (one transaction).

A request that cannot be carried out (no or a malformed request id, no identifier, an identifier that
normalises to nothing, an unreadable received_at) is rejected whole: it is logged in `erasure_log` with
status ``rejected`` and a reason naming the column, never its value, once per reason, and is retried on every
run until the source is mended. The requests are never staged: they are read, used and dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cxdata import schema
from cxdata.config import ProjectConfig
from cxdata.io.readers import SOURCE_COLUMN, read_labelled
from cxdata.io.staging import standardise
from cxdata.privacy.erase import ERASURE_LOG, REQUEST_ID, erase
from cxdata.privacy.people import REQUEST_SCHEMA, normalised_identifiers
from cxdata.validate.quarantine import RECORD_COLUMN
from cxdata.validate.rules import UNREADABLE_PREFIX
from cxdata.warehouse import Warehouse

NAME = schema.ERASURE_REQUESTS.name
DONE = ("erased", "not_found")
REJECTED = "rejected"
_BY = ("customer_ref", "email", "phone", "customer_key")


@dataclass(frozen=True)
class RequestsOutcome:
    """What one pass over the requests source did: the requests it read, those done by an earlier pass, and
    the `erasure_log` rows it wrote (erased, not_found and newly rejected); ``pending``: the requests rejected
    now, whether or not logged before (request_id, rejected_reason)."""

    read: int
    already_done: int
    logged: pl.DataFrame
    pending: pl.DataFrame

    def count(self, status: str) -> int:
        """How many of this pass's log rows have ``status``."""
        return self.logged.filter(pl.col("status") == status).height


def carry_out_requests(wh: Warehouse, config: ProjectConfig, now: dt.datetime) -> RequestsOutcome:
    """Read the configured requests source and erase the requests not done yet; log the rejected ones."""
    usable, rejected = read_requests(config, now)
    read = pl.concat([usable.select("request_id"), rejected.select("request_id")]).n_unique()
    logged = _logged(wh)
    done = logged.filter(pl.col("status").is_in(DONE)).select("request_id").unique()
    todo = usable.join(done, on="request_id", how="anti")
    pending = rejected.join(done, on="request_id", how="anti")
    already = read - todo["request_id"].n_unique() - pending.height
    fresh = pending.join(
        logged.filter(pl.col("status") == REJECTED), on=["request_id", "rejected_reason"], how="anti"
    )
    written = [erase(wh, config, todo, now)] if todo.height else []
    if fresh.height:
        rows = _rejections(fresh, now)
        wh.append(ERASURE_LOG, rows)
        written.append(rows)
    log = pl.concat(written, how="diagonal_relaxed") if written else pl.DataFrame(schema={"status": pl.String})
    return RequestsOutcome(read, already, log, pending.select("request_id", "rejected_reason"))


def read_requests(config: ProjectConfig, now: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The requests source as (usable requests in REQUEST_SCHEMA, one row per identifier and already
    normalised; rejected requests: request_id, requested_by, received_at, rejected_reason)."""
    source = config.source(NAME)
    if source.path is not None and _empty_folder(config.source_path(NAME)):
        return _split(_empty_rows(), config, now)
    flag = UNREADABLE_PREFIX + "received_at"
    parts = []
    for label, part in read_labelled(config, NAME):
        rows = standardise(part, NAME, source, config.timezone, label, now, keep_raw=True)
        # a source without received_at has no unreadable one
        unread = pl.col(flag) if flag in rows.collect_schema().names() else pl.lit(False).alias(flag)
        parts.append(rows.select("request_id", "received_at", *_BY, SOURCE_COLUMN, RECORD_COLUMN, unread))
    return _split(pl.concat(parts).collect(), config, now)


def _split(rows: pl.DataFrame, config: ProjectConfig, now: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    rid = pl.col("request_id").str.strip_chars()
    usable_id = rid.is_not_null() & rid.str.contains(REQUEST_ID.pattern)
    # an id that is missing or malformed is not repeated in the log (it might be an address): its row is named
    row_id = pl.concat_str([pl.col(SOURCE_COLUMN), pl.lit("#"), pl.col(RECORD_COLUMN).cast(pl.String)])
    rows = rows.with_columns(
        pl.when(usable_id).then(rid).otherwise(row_id).alias("request_id"),
        pl.when(rid.is_null() | (rid == ""))
        .then(pl.lit("no request_id"))
        .when(~usable_id)
        .then(pl.lit("request_id not 1-80 letters, digits or ._:-"))
        .when(pl.col(UNREADABLE_PREFIX + "received_at"))
        .then(pl.lit("received_at unreadable"))
        .alias("row_reason"),
    )
    identifiers = (
        rows.unpivot(index=["request_id", "received_at"], on=list(_BY), variable_name="identifier_type",
                     value_name="identifier_value")
        .filter(pl.col("identifier_value").str.strip_chars().fill_null("") != "")
    )  # fmt: skip
    normalised = normalised_identifiers(config, identifiers.cast({"received_at": REQUEST_SCHEMA["received_at"]}))
    why_rows = rows.filter(pl.col("row_reason").is_not_null()).select("request_id", why=pl.col("row_reason"))
    bare = rows.join(identifiers, on="request_id", how="anti").select("request_id", why=pl.lit("no identifier"))
    unreadable = normalised.filter(pl.col("identifier_value").is_null()).select(
        "request_id", why=pl.col("identifier_type") + pl.lit(" unreadable")
    )
    reasons = pl.concat([why_rows, bare, unreadable])
    why = reasons.group_by("request_id").agg(pl.col("why").unique().sort().str.join("; ").alias("rejected_reason"))
    received = rows.group_by("request_id").agg(pl.col("received_at").min().fill_null(now))
    usable = (
        normalised.drop("received_at")
        .join(why, on="request_id", how="anti")
        .join(received, on="request_id")
        .select(list(REQUEST_SCHEMA))
        .sort("request_id", "identifier_type")
    )
    kinds = identifiers.group_by("request_id").agg(pl.col("identifier_type").unique().sort().str.join("+"))
    rejected = (
        why.join(received, on="request_id")
        .join(kinds.rename({"identifier_type": "requested_by"}), on="request_id", how="left")
        .sort("request_id")
    )
    return usable, rejected


def _empty_folder(path: Path) -> bool:
    # a requests folder with nothing in it yet is the usual state, not a missing source
    return path.is_dir() and not any(p.is_file() for p in path.rglob("*"))


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "request_id": pl.String, "received_at": schema.UTC_TIMESTAMP, **dict.fromkeys(_BY, pl.String),
            SOURCE_COLUMN: pl.String, RECORD_COLUMN: pl.UInt32, UNREADABLE_PREFIX + "received_at": pl.Boolean,
        }
    )  # fmt: skip


def _logged(wh: Warehouse) -> pl.DataFrame:
    columns = ["request_id", "status", "rejected_reason"]
    if not wh.exists(ERASURE_LOG):
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    present = wh.columns(ERASURE_LOG)
    found = wh.read(ERASURE_LOG, columns=[c for c in columns if c in present])
    return (
        found
        if "rejected_reason" in found.columns
        else found.with_columns(rejected_reason=pl.lit(None, pl.String))
    )


def _rejections(rejected: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    """`erasure_log` rows of requests that could not be carried out: nothing deleted, nothing suppressed."""
    return rejected.select(
        "request_id",
        "requested_by",
        "received_at",
        *(pl.lit(0, pl.Int64).alias(c) for c in ("customers", "records", "identifiers_suppressed",
                                                  "identifiers_shared_kept")),
        pl.lit(REJECTED).alias("status"),
        pl.lit(now).alias("erased_at"),
        pl.lit(None, pl.String).alias("batch_id"),
        pl.lit("{}").alias("batch_rows_deleted"),
        "rejected_reason",
    )  # fmt: skip
