"""The `cxdata segments list|export` and `cxdata serve` commands, added to the `cxdata` parser by cxdata.cli.

Polars, the warehouse and the web framework are imported inside the handlers, so
building the parser (and `cxdata --help`) stays quick.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def add_commands(commands: Any, console: Console, day: Any, whole_number: Any) -> None:
    """Add `segments` (list, export) and `serve` to the subparsers ``commands``; ``day`` parses YYYY-MM-DD and
    ``whole_number(text, low, high)`` a bounded whole number (both raise argparse.ArgumentTypeError)."""

    def share(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"must be above 0 and below 1 (0.1 withholds 10%), got {text}")
        return value

    def batch_rows(text: str) -> int:
        from cxdata.serve.access import MAX_BATCH_ROWS

        return whole_number(text, 1, MAX_BATCH_ROWS)

    segments = commands.add_parser("segments", help="list scored segments or export one as CSV/Parquet")
    actions = segments.add_subparsers(required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="segments with their size and value at a scoring moment")
    listing.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    listing.add_argument("--as-of", type=day, default=None, help="the latest scoring on this UTC day (YYYY-MM-DD)")
    listing.set_defaults(command=partial(_list, console))

    export = actions.add_parser("export", help="write a segment's members, scores and contacts to a file")
    export.add_argument("name", help="segment name (see `cxdata segments list`)")
    export.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    export.add_argument("--out", type=Path, required=True, help="file to write")
    export.add_argument("--format", choices=["csv", "parquet"], default=None, help="default: from --out's suffix")
    export.add_argument("--as-of", type=day, default=None, help="the latest scoring on this UTC day (YYYY-MM-DD)")
    contacts = export.add_mutually_exclusive_group()
    contacts.add_argument(
        "--hashed", action="store_true", help="SHA-256 of the normalised email and phone instead of raw values"
    )
    contacts.add_argument("--no-contacts", action="store_true", help="no email or phone at all")
    contacts.add_argument(
        "--template",
        choices=["google", "meta"],
        default=None,
        help="an ad platform's audience file: its columns only, normalised and hashed as it documents",
    )
    export.add_argument(
        "--batch-rows", type=batch_rows, default=50_000, help="rows read per batch (default 50000)"
    )
    export.add_argument("--with-ids", action="store_true", help="also write the model run ids of the scores")
    export.add_argument(
        "--purpose",
        choices=["email", "sms", "ads"],
        default=None,
        help="what the contacts are for (required with contacts): members who did not agree to it are left out",
    )
    export.add_argument(
        "--holdout",
        type=share,
        default=None,
        metavar="SHARE",
        help="withhold this share of members as the campaign's control group (e.g. 0.1); needs --campaign",
    )
    export.add_argument(
        "--campaign", default=None, help="the touchpoint sending the export: channel/campaign (email/winback)"
    )
    export.set_defaults(command=partial(_export, console))

    serve = commands.add_parser("serve", help="serve segments, scores and touchpoints over HTTP (read-only)")
    serve.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=partial(whole_number, low=1, high=65_535), default=8000, help="port (default 8000)"
    )
    serve.add_argument(
        "--insecure-local",
        action="store_true",
        help="serve without a token (read scope only, never contacts), on a loopback address only",
    )
    serve.set_defaults(command=partial(_serve, console))


@contextmanager
def _warehouse(config_path: Path | Any, writable: bool = False) -> Iterator[Any]:
    """The project's warehouse, read-only unless ``writable``; ``config_path`` may be a loaded config."""
    from cxdata.config import load_config
    from cxdata.serve.access import ServeError, open_read_only
    from cxdata.warehouse import Warehouse, WarehouseError

    config = load_config(config_path) if isinstance(config_path, Path) else config_path
    opener = Warehouse if writable else open_read_only
    try:
        with opener(config.warehouse, config.warehouse_schema) as wh:
            yield wh
    except WarehouseError as exc:
        raise ServeError(str(exc)) from exc


def _list(console: Console, args: argparse.Namespace) -> int:
    from cxdata.serve.segments import list_segments

    with _warehouse(args.config) as wh:
        listed = list_segments(wh, args.as_of)
    moment: dt.datetime = listed["as_of"][0]
    table = Table(title=f"segments as of {moment.isoformat()}")
    for column in listed.columns[:-1]:
        table.add_column(column, no_wrap=column == "segment", justify="left" if column == "segment" else "right")
    for row in listed.drop("as_of").iter_rows():  # as_of is the last column and the same on every row
        table.add_row(*(escape(_cell(value)) for value in row))
    console.print(table)
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _export(console: Console, args: argparse.Namespace) -> int:
    from cxdata.config import load_config
    from cxdata.files import check_target
    from cxdata.serve.access import BadValue
    from cxdata.serve.export import export
    from cxdata.serve.holdouts import holdout_from_env

    if (args.holdout is None) != (args.campaign is None):
        given, missing = ("--holdout", "--campaign") if args.campaign is None else ("--campaign", "--holdout")
        raise BadValue(
            f"{given} needs {missing}: --holdout SHARE withholds that share of members as the control group "
            "of --campaign CHANNEL/CAMPAIGN, the touchpoint that sends the export"
        )
    fmt = args.format or {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(args.out.suffix.lower())
    if fmt is None:
        raise BadValue(f"cannot tell the format of {args.out}: give --format csv or --format parquet")
    contacts = "hashed" if args.hashed or args.template else "none" if args.no_contacts else "raw"
    check_target(args.out)  # before connecting: a path that cannot be written fails at once
    config = load_config(args.config)
    holdout = None
    if args.holdout is not None:
        holdout = holdout_from_env(args.campaign, args.holdout, config.models.experiments.salt_env)
    # recording a holdout's assignments writes to the warehouse; a plain export only reads
    with _warehouse(config, writable=holdout is not None) as wh:
        result = export(
            wh, args.name, args.out, fmt, args.as_of, contacts, args.batch_rows, holdout,
            currency=config.currency, template=args.template, with_ids=args.with_ids, purpose=args.purpose,
        )  # fmt: skip
    if contacts != "none":
        _log_export(config, args, result, args.template or contacts)
    held = f", {result.without_consent:,} left out without consent for {args.purpose}" if args.purpose else ""
    if holdout is not None:
        held += (
            f", {result.withheld:,} withheld as the control group of {holdout.campaign} "
            f"({result.newly_assigned:,} newly assigned)"
        )
    console.print(
        f"{result.rows:,} members of {result.segment!r} as of {result.as_of.isoformat()} "
        f"({_what(args.template, contacts)}){held} -> {result.path} "
        f"in {result.seconds:.1f} s",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0


def _log_export(config: Any, args: argparse.Namespace, result: Any, contacts: str) -> None:
    """Record a contact export in the project's `pii_access_log` outbox; an export that cannot be recorded is
    removed again (no contacts leave unlogged)."""
    from cxdata.errors import PrivacyError
    from cxdata.privacy.access_log import AccessEntry, access_folder, os_actor, record_access

    entry = AccessEntry.now(
        actor=os_actor(), via="cli", action="segment_export", segment=result.segment, purpose=args.purpose,
        contacts=contacts, rows=result.rows,
    )  # fmt: skip
    try:
        record_access(access_folder(config.base_dir), entry)
    except OSError as exc:
        Path(result.path).unlink(missing_ok=True)
        raise PrivacyError(
            f"the export was removed: it could not be recorded in pii_access_log ({exc.strerror or exc})"
        ) from exc


def _serve(console: Console, args: argparse.Namespace) -> int:
    from cxdata.serve.auth import tokens_from_env

    tokens = tokens_from_env(insecure_local=args.insecure_local, host=args.host)
    import uvicorn

    from cxdata.config import load_config
    from cxdata.privacy.access_log import access_folder
    from cxdata.serve.api import create_app

    config = load_config(args.config)
    with _warehouse(config) as wh:
        if tokens.open_read:
            console.print("[yellow]warning:[/] serving without a token (--insecure-local): read scope for anyone")
        console.print(
            f"serving on http://{args.host}:{args.port} (OpenAPI: /openapi.json)", markup=False, highlight=False
        )
        app = create_app(wh, tokens, currency=config.currency, access_folder=access_folder(config.base_dir))
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _what(template: str | None, contacts: str) -> str:
    if template is not None:
        return f"{template} audience columns, hashed as {template} documents"
    return "contacts " + contacts if contacts != "none" else "no contacts"
