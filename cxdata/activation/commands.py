"""The `cxdata sync` command, added to the `cxdata` parser by cxdata.cli.

The warehouse and polars are imported inside the handler, so building the parser stays quick. What it prints
is counts, names and file names: never a customer or a contact, never a webhook URL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def add_commands(commands: Any, console: Console) -> None:
    """Add `sync` to the subparsers ``commands``."""
    sync = commands.add_parser(
        "sync", help="send a destination the changes of its segment since its last sync (no NAME: list them)"
    )
    sync.add_argument("name", nargs="?", metavar="NAME", help="a destination of activation.destinations")
    sync.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    sync.set_defaults(command=partial(_sync, console))


def _sync(console: Console, args: argparse.Namespace) -> int:
    from cxdata.activation.sync import last_syncs, sync
    from cxdata.config import load_config
    from cxdata.warehouse import Warehouse

    config = load_config(args.config)
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        if args.name is None:
            _print_destinations(console, last_syncs(wh, config))
            return 0
        report = sync(wh, config, args.name, dt.datetime.now(dt.UTC), by=f"cxdata sync ({getpass.getuser()})")
    for run in [*report.retried, report.planned]:
        if run is not None:
            console.print(_line(args.name, run), markup=False, highlight=False, soft_wrap=True)
    return 0


def _line(name: str, run: dict[str, Any]) -> str:
    head = f"sync {name} #{run['seq']} ({run['segment']} as of {run['as_of']:%Y-%m-%d %H:%M} UTC)"
    if run["status"] == "unchanged":
        return f"{head}: nothing changed since the last sync; nothing sent"
    counts = f"{run['adds']:,} added, {run['removes']:,} removed"
    if run["withheld"]:
        counts += f", {run['withheld']:,} withheld (holdout)"
    if run["without_consent"]:
        counts += f", {run['without_consent']:,} left out without consent"
    return f"{head}: {counts} -> {run['delivered_to']}"


def _print_destinations(console: Console, syncs: Any) -> None:
    if syncs.is_empty():
        console.print("no destinations: add activation.destinations to cxdata.yaml", highlight=False)
        return
    table = Table("destination", "segment", "last sync", "as of", "status", "added", "removed", "error")
    for row in syncs.iter_rows(named=True):
        never = row["seq"] is None
        table.add_row(
            row["destination"], row["segment"], "never" if never else f"#{row['seq']}",
            "" if never else f"{row['as_of']:%Y-%m-%d %H:%M}", row["status"] or "",
            "" if never else f"{row['adds']:,}", "" if never else f"{row['removes']:,}", row["last_error"] or "",
        )  # fmt: skip
    console.print(table)
