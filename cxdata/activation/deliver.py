"""Delivering a planned sync: one file in the destination's folder, or webhook batches with idempotency keys.

The rows of a sync are read from ``sync_changes`` when it is delivered, in a fixed order (adds, then removes,
each by customer_key), with the destination's columns: ``change``, then an ad platform's hashed columns
(``template``) or ``customer_key`` and the ``contacts`` asked for, computed in SQL (`cxdata.serve.audiences`).

A file is named by destination, sequence and scoring (``<name>-<seq>-<as_of>.csv``) and appears only whole
(`cxdata.files.replacing`); a retry rewrites the same name. A webhook gets one POST per ``batch_size`` rows,
each with ``Idempotency-Key: <sync_id>:<batch>``, the same on every retry, and counts as delivered only when
every batch is answered 2xx (`cxdata.alerts.notify.post_json`: no redirect followed, the URL never shown). The
sync is marked delivered afterwards, so a crash in between delivers it again, under the same name or keys.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from cxdata.activation.plan import CHANGES, DELIVERED, RUN_SCHEMA, RUNS
from cxdata.alerts.notify import NotificationError, post_json, url_from_env
from cxdata.config import ProjectConfig
from cxdata.config_activation import Destination
from cxdata.errors import CxdataError, OutputError
from cxdata.faults import crash_point
from cxdata.files import remove_leftovers, replacing
from cxdata.serve import audiences
from cxdata.serve.access import fetch, table
from cxdata.warehouse import Warehouse

_CRASH, _DELIVERED = "sync:written", "sync:delivered"


class SyncError(CxdataError):
    """A sync could not be delivered (or started); the text names the destination, never a URL or a person."""


def change_rows(wh: Warehouse, destination: Destination, name: str, seq: int) -> pl.DataFrame:
    """The rows of sync ``seq`` of destination ``name``, as delivered (see the module)."""
    changes = table(wh, CHANGES, "destination", "seq", "customer_key", "change")
    picked = (
        sa.select(changes.c.change, changes.c.customer_key)
        .where(changes.c.destination == name, changes.c.seq == seq)
        .subquery("c")
    )
    pii, columns = None, []
    if destination.template is not None:
        pii, columns = audiences.template_columns(wh, destination.template)
    elif destination.contacts != "none":
        pii, columns = audiences.contact_columns(wh, destination.contacts)
    keys = [] if destination.template is not None else [picked.c.customer_key]
    joined = picked if pii is None else picked.outerjoin(pii, pii.c.customer_key == picked.c.customer_key)
    statement = (
        sa.select(picked.c.change, *keys, *columns)
        .select_from(joined)
        .order_by(picked.c.change, picked.c.customer_key)
    )
    return fetch(wh, statement)


def file_name(name: str, run: Mapping[str, Any], fmt: str) -> str:
    """The file of sync ``run`` (a sync_runs row) of destination ``name``."""
    return f"{name}-{run['seq']:06d}-{run['as_of']:%Y%m%dT%H%M%SZ}.{fmt}"


def deliver(
    wh: Warehouse, config: ProjectConfig, name: str, run: Mapping[str, Any], now: dt.datetime,
    environ: Mapping[str, str] | None = None,
) -> pl.DataFrame:  # fmt: skip
    """Deliver the planned sync ``run`` (a sync_runs row) of destination ``name`` and mark it delivered; its
    updated sync_runs row. A failure is recorded on the row (attempts, last_error) and raised as SyncError."""
    destination = config.activation.destinations[name]
    try:
        rows = change_rows(wh, destination, name, run["seq"])
        if destination.path is not None:
            target = _write_file(config.base_dir / destination.path, file_name(name, run, destination.format),
                                 rows, destination.format)  # fmt: skip
        else:
            target = _post(destination, name, run, rows, os.environ if environ is None else environ)
    except (NotificationError, OutputError, OSError) as exc:
        reason = f"{type(exc).__name__}: {exc.strerror}" if isinstance(exc, OSError) else str(exc)
        _record(wh, run, attempts=run["attempts"] + 1, last_error=reason[:200])
        raise SyncError(f"sync {run['seq']} of destination {name!r} was not delivered: {reason}") from None
    crash_point(_DELIVERED)  # sent, not yet marked: the next sync sends it again, under the same name or keys
    return _record(wh, run, attempts=run["attempts"] + 1, status=DELIVERED, delivered_at=now, delivered_to=target,
                   last_error=None)  # fmt: skip


def _record(wh: Warehouse, run: Mapping[str, Any], **changed: object) -> pl.DataFrame:
    row = pl.DataFrame([{**run, **changed}], schema=RUN_SCHEMA)
    with wh.transaction() as tx:
        tx.replace_keys(RUNS, row, on=["destination", "seq"])
    return row


def _write_file(folder: Path, name: str, rows: pl.DataFrame, fmt: str) -> str:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    remove_leftovers(folder / name)  # of an attempt killed while writing this same file
    with replacing(folder / name, _CRASH) as sink:
        if fmt == "csv":
            rows.write_csv(sink)
        else:
            rows.write_parquet(sink)
    return name


def _post(destination: Destination, name: str, run: Mapping[str, Any], rows: pl.DataFrame,
          environ: Mapping[str, str]) -> str:  # fmt: skip
    assert destination.url_env is not None
    url = url_from_env(destination.url_env, environ)
    if url is None:
        raise NotificationError(f"environment variable {destination.url_env} (the webhook URL) is not set")
    token = environ.get(destination.token_env) if destination.token_env else None
    size = destination.batch_size
    batches = max(1, -(-rows.height // size))
    for number in range(1, batches + 1):
        batch = rows.slice((number - 1) * size, size)
        body = {
            "destination": name, "sync_id": run["sync_id"], "sequence": run["seq"], "segment": run["segment"],
            "as_of": run["as_of"].isoformat(), "batch": number, "batches": batches, "changes": batch.to_dicts(),
        }  # fmt: skip
        post_json(url, body, destination.timeout_seconds, f"{run['sync_id']}:{number}", "cxdata-sync", token)
    return f"webhook ({batches} batch{'es' if batches > 1 else ''})"
