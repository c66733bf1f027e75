"""The `cxdata forget` command, added to the `cxdata` parser by cxdata.cli.

The warehouse, polars and cxdata.privacy (which loads identity resolution and scipy) are imported inside
the handler, so building the parser stays quick; this module lives outside that package for the same
reason. Nothing the
command prints holds the identifier it was given: only the request id and counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

_BY = {"email": "email", "phone": "phone", "customer_ref": "customer-ref", "customer_key": "customer-key"}


def add_commands(commands: Any, console: Console) -> None:
    """Add `forget` to the subparsers ``commands``."""
    forget = commands.add_parser(
        "forget", help="erase one person from every table and keep them out of later loads (salted hashes)"
    )
    forget.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    who = forget.add_mutually_exclusive_group(required=True)
    for kind, flag in _BY.items():
        what = kind.replace("_", " ")
        who.add_argument(f"--{flag}", dest=kind, metavar=kind.upper(), help=f"the person's {what}")
    forget.add_argument(
        "--request-id", default=None, help="your reference for the request, kept in erasure_log (default: new)"
    )
    forget.set_defaults(command=partial(_forget, console))


def _forget(console: Console, args: argparse.Namespace) -> int:
    import polars as pl

    from cxdata.config import load_config
    from cxdata.privacy import REQUEST_SCHEMA, erase
    from cxdata.warehouse import Warehouse

    config = load_config(args.config)
    kind = next(k for k in _BY if getattr(args, k) is not None)
    now = dt.datetime.now(dt.UTC)
    request_id = args.request_id or f"forget-{uuid.uuid4().hex[:12]}"
    requests = pl.DataFrame(
        {"request_id": [request_id], "identifier_type": [kind], "identifier_value": [getattr(args, kind)],
         "received_at": [now]},
        schema=REQUEST_SCHEMA,
    )  # fmt: skip
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        log = erase(wh, config, requests, now).row(0, named=True)
    deleted = sum(json.loads(log["batch_rows_deleted"]).values())
    verdict = "erased" if log["status"] == "erased" else "not found in the warehouse; its identifier is suppressed"
    shared = log["identifiers_shared_kept"]
    console.print(
        f"request {request_id}: {verdict}: {log['customers']} customer(s), {log['records']} source record(s), "
        f"{deleted} row(s) deleted, {log['identifiers_suppressed']} identifier(s) suppressed"
        + (f", {shared} shared with other customers kept" if shared else ""),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0
