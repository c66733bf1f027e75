"""The `cxdata` command line: generate a synthetic project, check its sources, run it, run the demo.

Dagster is imported only by the commands that run assets, so `cxdata generate`
and `--help` stay quick.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cxdata.activation.commands import add_commands as add_activation_commands
from cxdata.config import ProjectConfig, day_problem, load_config, redact_url
from cxdata.config_messages import mask_secrets
from cxdata.errors import CxdataError
from cxdata.forget_command import add_commands as add_privacy_commands
from cxdata.serve.commands import add_commands as add_serving_commands

DEMO_DIR = Path(".cxdata") / "demo"
# The generator holds every simulated person in memory; far beyond this it runs out of memory or numpy's sizes.
MAX_CUSTOMERS = 100_000_000
console = Console()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cxdata` console script; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except CxdataError as exc:
        return _error(str(exc))
    except OSError as exc:
        # A path the user gave (or its folder) cannot be read or written: name it, without a traceback.
        where = f": {exc.filename}" if exc.filename is not None else ""
        return _error(f"{exc.strerror or type(exc).__name__}{where}")
    except KeyboardInterrupt:
        console.print("interrupted", highlight=False)
        return 130
    except RuntimeError as exc:
        # Imported only now: the warehouse package loads the database drivers, which `--help` does not need.
        from cxdata.warehouse.errors import WarehouseError

        if isinstance(exc, WarehouseError):  # its message names the table and step, never a password
            return _error(str(exc))
        raise


def _error(message: str) -> int:
    # escaped: the message may quote what the user typed, and "[/]" there would be rich markup
    console.print(f"[bold red]error:[/] {escape(mask_secrets(message))}", highlight=False, soft_wrap=True)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxdata", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="make a synthetic project, run every asset on DuckDB, show results")
    demo.add_argument("--customers", type=_positive, default=5000, help="people to simulate (default 5000)")
    demo.add_argument("--seed", type=_seed, default=0)
    demo.add_argument("--dir", type=Path, default=DEMO_DIR, help=f"where to put the project (default {DEMO_DIR})")
    demo.set_defaults(command=_demo)

    generate = commands.add_parser("generate", help="write a synthetic multi-source project with its ground truth")
    generate.add_argument("--out", type=Path, required=True, help="folder to write data/, truth/ and cxdata.yaml")
    generate.add_argument("--customers", type=_positive, default=5000)
    generate.add_argument("--seed", type=_seed, default=0)
    generate.set_defaults(command=_generate)

    run = commands.add_parser("run", help="materialise every asset of a project in process")
    run.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    run.add_argument("--as-of", type=_day, default=None, help="score as of this day (YYYY-MM-DD)")
    run.add_argument("--debug", action="store_true", help="also show Dagster's log, stack traces included")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="load every source whole (by default only the event days whose files are new or changed)",
    )
    run.set_defaults(command=_run)

    check = commands.add_parser(
        "check", help="read a sample of every source and show what a run would load and quarantine"
    )
    check.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    check.add_argument(
        "--sample", type=_positive, default=10_000, help="records read per file or query (default 10,000)"
    )
    check.set_defaults(command=_check)

    report = commands.add_parser("report", help="write an HTML report of a project's warehouse (KPIs, models)")
    report.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write")
    report.set_defaults(command=_report)

    grant = commands.add_parser("grant", help="create/update the PostgreSQL roles cxdata_bi and cxdata_marketing")
    grant.add_argument("--config", type=Path, required=True, help="the project's cxdata.yaml")
    grant.add_argument(
        "--bi-member", action="append", default=[], help="login role to give cxdata_bi (repeatable)"
    )
    grant.add_argument(
        "--marketing-member", action="append", default=[], help="login role to give cxdata_marketing"
    )
    grant.set_defaults(command=_grant)

    add_serving_commands(commands, console, _day, whole_number)
    add_privacy_commands(commands, console)
    add_activation_commands(commands, console)
    return parser


def _positive(text: str) -> int:
    return whole_number(text, 1, MAX_CUSTOMERS)


def _seed(text: str) -> int:
    return whole_number(text, 0, 2**63 - 1)


def whole_number(text: str, low: int, high: int) -> int:
    """``text`` as a whole number from ``low`` to ``high``, else an argparse error quoting at most 40 of it."""
    try:
        value = int(text[:40])
    except ValueError:
        value = None
    if value is None or len(text) > 40 or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be a whole number from {low:,} to {high:,}, got {text[:40]!r}")
    return value


def _day(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text[:40])
    except ValueError:
        day = None
    if day is None or len(text) > 40:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text[:40]!r}")
    problem = day_problem(day)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return day


def _generate(args: argparse.Namespace) -> int:
    result = _generate_project(args.out, args.customers, args.seed)
    table = Table("table", "rows", title=escape(f"synthetic project in {result.config_path.parent}"))
    for name, rows in result.row_counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"config: {result.config_path}\ntruth:  {result.truth_dir}", markup=False, highlight=False)
    return 0


def _generate_project(out: Path, customers: int, seed: int):
    from cxdata.synth import SynthParams, generate_project

    with console.status("generating synthetic project") as status:
        return generate_project(out, SynthParams(customers=customers, seed=seed), progress=status.update)


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    return _run_and_report(config, args.as_of, debug=args.debug, full_refresh=args.full_refresh)


def _check(args: argparse.Namespace) -> int:
    from cxdata.io.check import check_sources

    config = load_config(args.config)
    started = time.perf_counter()
    checks = check_sources(config, args.sample)
    table = Table("source", "records", "accepted", "quarantined", "limit", "blank lines", title="sources (sample)")
    for c in checks:
        if c.error:
            table.add_row(escape(c.table), "-", "-", "[red]unreadable[/]", f"{c.limit:.1%}", "-")
            continue
        mark = "" if c.passed else "[red]"
        held = f"{mark}{c.quarantined:,} ({c.share:.1%})" + ("[/]" if mark else "")
        table.add_row(escape(c.table), f"{c.records:,}", f"{c.records - c.quarantined:,}", held, f"{c.limit:.1%}",
                      f"{c.blank_lines:,}")  # fmt: skip
    console.print(table)
    for c in checks:
        lines = [f"error: {c.error}"] if c.error else []
        if c.by_rule:
            lines.append("by rule: " + ", ".join(f"{rule} {n:,}" for rule, n in c.by_rule.items()))
        lines += [f"  {example}" for example in c.examples] + [f"hint: {hint}" for hint in c.hints]
        for line in [f"{c.table} ({c.source}):", *lines] if lines else []:
            console.print(escape(mask_secrets(line)), highlight=False, soft_wrap=True)
    failed = [c.table for c in checks if not c.passed]
    seconds = time.perf_counter() - started
    verdict = f"[red]would stop at {', '.join(failed)}[/]" if failed else "[green]would load every source[/]"
    console.print(f"check of {config.name!r} in {seconds:.1f} s: {verdict}", highlight=False)
    return 2 if failed else 0


def _demo(args: argparse.Namespace) -> int:
    result = _generate_project(args.dir, args.customers, args.seed)
    code = _run_and_report(load_config(result.config_path), None)
    if code == 0:
        # `dagster dev` finds the code location through pyproject.toml, so it runs from the cxdata checkout.
        in_checkout = Path("dagster.yaml").exists() and Path("pyproject.toml").exists()
        default = in_checkout and args.dir.resolve() == DEMO_DIR.resolve()
        prefix = "" if default else f"CXDATA_CONFIG={result.config_path.resolve()} "
        where = "" if in_checkout else " from the cxdata checkout"
        console.print(f"\nOpen the Dagster UI on this project{where} (then browse to http://127.0.0.1:3000):")
        console.print(f"  [bold]{escape(prefix)}uv run dagster dev[/]", highlight=False, soft_wrap=True)
        _write_report(load_config(result.config_path), args.dir / "report.html")
    return code


def _grant(args: argparse.Namespace) -> int:
    from cxdata.warehouse import Warehouse
    from cxdata.warehouse.roles import BI_ROLE, MARKETING_ROLE, grant_roles

    config = load_config(args.config)
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        if wh.dialect != "postgresql":
            console.print(f"roles are a PostgreSQL feature; nothing to grant on the {wh.dialect} warehouse")
            return 0
        done = grant_roles(wh, members={BI_ROLE: args.bi_member, MARKETING_ROLE: args.marketing_member})
    for role, names in done.readable.items():
        console.print(f"{role} reads {len(names)} relation(s) of schema {done.schema}: {', '.join(names) or '-'}")
    console.print(f"withheld as personal data: {', '.join(done.withheld) or '-'}")
    for table, columns in sorted(done.withheld_columns.items()):
        console.print(
            f"withheld columns: {table}({', '.join(columns)})", markup=False, highlight=False, soft_wrap=True
        )
    return 0


def _report(args: argparse.Namespace) -> int:
    _write_report(load_config(args.config), args.out)
    return 0


def _write_report(config: ProjectConfig, out: Path) -> None:
    from cxdata.files import check_target
    from cxdata.report import write_report

    if os.path.lexists(out):  # a missing folder is created by the report; never write over a device or link
        check_target(out)
    with console.status("writing the report"):
        path, _ = write_report(config, out)
    console.print(f"\nReport: {path.resolve()}", markup=False, highlight=False, soft_wrap=True)


def _run_and_report(
    config: ProjectConfig, as_of: dt.date | None, debug: bool = False, full_refresh: bool = False
) -> int:
    with console.status("loading Dagster definitions"):
        from pipelines.runner import run_project
    started = time.perf_counter()
    with console.status(f"materialising the assets of {config.name!r}") as status:

        def show(step: str, event: str) -> None:
            if event == "started":
                status.update(f"materialising {step}")
            else:
                mark = "[green]✓[/]" if event == "succeeded" else "[red]✗[/]"
                console.print(f"{mark} {step} ({time.perf_counter() - started:.1f} s)")

        outcome = run_project(
            config,
            as_of=as_of.isoformat() if as_of else None,
            on_step=show,
            debug=debug,
            full_refresh=full_refresh,
        )
    seconds = time.perf_counter() - started
    for step, message in outcome.failures.items():
        console.print(
            f"[bold red]failed:[/] {escape(f'{step}: {mask_secrets(message)}')}", highlight=False, soft_wrap=True
        )
    _print_tables(config, outcome.materialised)
    verdict = "[green]succeeded[/]" if outcome.success else "[red]failed[/]"
    warned = len(outcome.warned_checks)
    if warned:
        verdict += f" with {warned} warning{'s' if warned > 1 else ''}"
    console.print(f"run {outcome.run_id} {verdict} in {seconds:.1f} s")
    _print_gaps(outcome.failed_checks, outcome.not_materialised, outcome.warned_checks)
    return 0 if outcome.success else 1


def _print_gaps(
    failed_checks: dict[str, str], not_materialised: list[str], warned_checks: dict[str, str] | None = None
) -> None:
    # what a run that still succeeded left out, and why: one line per failed or warned check, one line of
    # skipped assets
    lines = [f"  warning: {check} -> {mask_secrets(reason)}" for check, reason in (warned_checks or {}).items()]
    if failed_checks:
        lines.append("failed checks (only what they gate was skipped):")
        lines += [f"  {check} -> {mask_secrets(reason)}" for check, reason in failed_checks.items()]
    if not_materialised:
        lines.append(f"not materialised: {', '.join(not_materialised)}")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _print_tables(config: ProjectConfig, assets: list[str]) -> None:
    from cxdata.warehouse import Warehouse

    table = Table("table", "rows", title="published tables")
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        # cx_report is an HTML file and sync_<name> a delivery (`cxdata sync`), not tables
        deliveries = {"cx_report", *(f"sync_{name}" for name in config.activation.destinations)}
        for name in sorted(set(assets) - deliveries):
            table.add_row(name, f"{wh.row_count(name):,}" if wh.exists(name) else "(not published)")
    console.print(table)
    console.print(f"warehouse: {_where(config)}", markup=False, highlight=False, soft_wrap=True)


def _where(config: ProjectConfig) -> str:
    if config.warehouse.startswith("duckdb:///"):
        return config.warehouse.removeprefix("duckdb:///")
    return redact_url(config.warehouse)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
