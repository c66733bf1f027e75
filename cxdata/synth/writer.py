"""Write a simulated project: source files in data/, the ground truth in truth/, and cxdata.yaml.

Output is byte-for-byte reproducible from the seed: frames are built in a fixed
order, CSV has no varying metadata and Parquet is written without timestamps.
Every file goes through `cxdata.files.replacing`: the folder is the user's
choice and the rows look like personal data, so a link planted there is never
followed and each file is its owner's only (0600).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from cxdata.files import replacing
from cxdata.synth import digital, holdouts, tables, truth
from cxdata.synth.identifiers import customer_refs
from cxdata.synth.params import SynthParams
from cxdata.synth.simulate import Progress, Simulation, release_memory, simulate

ISO_OFFSET = "%Y-%m-%dT%H:%M:%S%:z"
ISO_ZULU = "%Y-%m-%dT%H:%M:%SZ"
ORDER_DATE = "%d/%m/%Y %H:%M:%S"
# snappy: on two cores zstd costs a third more time for these sizes
COMPRESSION = "snappy"
IDENTITY_ROW_GROUP = 1_048_576
NOISE_STREAMS = ("customers", "orders", "tickets", "surveys", "touches", "web_events", "costs")

# canonical column: source column, per source, in the order the config lists them
COLUMNS: dict[str, dict[str, str]] = {
    "orders": {
        "order_id": "order_no",
        "customer_ref": "cust_id",
        "email": "email_address",
        "phone": "phone_number",
        "ordered_at": "order_date",
        "amount": "total",
        "currency": "currency",
        "channel": "sales_channel",
        "status": "order_status",
    },
    "customers": {
        "customer_ref": "customer_number",
        "email": "email",
        "phone": "mobile",
        "first_name": "first_name",
        "last_name": "surname",
        "postcode": "zip",
        "country": "country",
        "created_at": "created",
        "consent_email": "email_opt_in",
        "consent_sms": "sms_opt_in",
        "consent_ads": "ads_opt_in",
        "consent_updated_at": "consent_changed",
    },
    "tickets": {
        "ticket_id": "case_number",
        "customer_ref": "customer_id",
        "email": "requester_email",
        "phone": "requester_phone",
        "opened_at": "created_at",
        "first_response_at": "first_response_at",
        "resolved_at": "solved_at",
        "channel": "channel",
        "category": "topic",
    },
    "surveys": {
        "response_id": "response_id",
        "ticket_id": "ticket_ref",
        "customer_ref": "customer_id",
        "email": "respondent_email",
        "responded_at": "submitted_at",
        "kind": "survey_type",
        "score": "score",
    },
    "web_events": {
        "event_id": "event_id",
        "anonymous_id": "client_id",
        "customer_ref": "user_id",
        "email": "user_email",
        "occurred_at": "event_timestamp",
        "event_type": "event_name",
        "page_path": "page_path",
        "utm_source": "utm_source",
        "utm_medium": "utm_medium",
        "utm_campaign": "utm_campaign",
        "referrer": "referrer",
    },
    "touches": {
        "touch_id": "touch_id",
        "customer_ref": "crm_id",
        "email": "email",
        "anonymous_id": "cookie_id",
        "occurred_at": "event_time",
        "channel": "channel",
        "campaign": "campaign_name",
        "kind": "interaction",
    },
    "touchpoint_costs": {"period_start": "month", "channel": "channel", "campaign": "campaign", "cost": "spend"},
}
PATHS = {
    "orders": "data/orders.csv",
    "customers": "data/customers.csv",
    "tickets": "data/tickets.csv",
    "surveys": "data/surveys.csv",
    "web_events": "data/web_events",
    "touches": "data/touches.parquet",
    "touchpoint_costs": "data/touchpoint_costs.csv",
}
SOURCE_TABLE = pl.Enum(list(PATHS))
# written only when a campaign has a holdout; not a source: a test publishes it as experiment_assignments
ASSIGNMENTS_PATH = "data/experiment_assignments.csv"


@dataclass(frozen=True)
class GeneratedProject:
    """Where a generated project was written and how many rows each source got."""

    out_dir: Path
    config_path: Path
    data_dir: Path
    truth_dir: Path
    row_counts: dict[str, int]
    params: SynthParams


def generate_project(
    out_dir: Path | str, params: SynthParams | None = None, progress: Progress | None = None
) -> GeneratedProject:
    """Simulate a multi-source project and write data/, truth/ and cxdata.yaml under ``out_dir``."""
    sim = simulate(params or SynthParams(), progress)
    return write_project(sim, Path(out_dir), progress)


def write_project(sim: Simulation, out_dir: Path, progress: Progress | None = None) -> GeneratedProject:
    """Render a simulation into files; the same simulation always gives the same bytes.

    The files are written by two worker threads (numpy and polars release the GIL),
    each from its own random stream, so the result does not depend on scheduling.
    """
    say = progress or (lambda _message: None)
    data_dir, truth_dir = out_dir / "data", out_dir / "truth"
    web_dir = data_dir / "web_events"
    for folder in (data_dir, truth_dir, web_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for stale in web_dir.glob("part-*.parquet"):
        stale.unlink()  # months of an earlier run must not mix with this one
    streams = sim.noise_seed.spawn(len(NOISE_STREAMS))
    rng = {name: np.random.default_rng(seed) for name, seed in zip(NOISE_STREAMS, streams, strict=True)}
    case = tables.case_numbers(sim)
    touch_order = digital.touch_order(sim)
    costs, spend = digital.costs(sim, rng["costs"])

    def customers() -> list[Part]:
        chunk = tables.customers(sim, rng["customers"])
        with replacing(data_dir / "customers.csv") as out:
            chunk.frame.write_csv(out, datetime_format=ISO_OFFSET)
        return [Part.of("customers", chunk)]

    def orders() -> list[Part]:
        parts = []
        with replacing(data_dir / "orders.csv") as out:
            for i, chunk in enumerate(tables.orders(sim, rng["orders"])):
                chunk.frame.write_csv(out, include_header=i == 0, datetime_format=ORDER_DATE, float_precision=2)
                parts.append(Part.of("orders", chunk))
        return parts

    def service() -> list[Part]:
        ticket_chunk = tables.tickets(sim, case, rng["tickets"])
        with replacing(data_dir / "tickets.csv") as out:
            ticket_chunk.frame.write_csv(out, datetime_format=ISO_ZULU)
        survey_chunk = tables.surveys(sim, case, rng["surveys"])
        with replacing(data_dir / "surveys.csv") as out:
            survey_chunk.frame.write_csv(out, datetime_format=ISO_OFFSET)
        with replacing(data_dir / "touchpoint_costs.csv") as out:
            costs.write_csv(out, float_precision=2)
        return [Part.of("tickets", ticket_chunk), Part.of("surveys", survey_chunk)]

    def web_events() -> list[Part]:
        parts = []
        for month, chunk in digital.web_events(sim, rng["web_events"]):
            with replacing(web_dir / f"part-{month}.parquet") as out:
                chunk.frame.write_parquet(out, compression=COMPRESSION)
            parts.append(Part.of("web_events", chunk))
        return parts

    def touches() -> list[Part]:
        parts: list[Part] = []

        def frames() -> Iterator[pl.DataFrame]:
            for chunk in digital.touches(sim, touch_order, rng["touches"]):
                parts.append(Part.of("touches", chunk))
                yield chunk.frame

        _write_parquet_chunks(data_dir / "touches.parquet", frames())
        return parts

    def ground_truth() -> list[Part]:
        touch_number = np.zeros(sim.touches.size, dtype=np.int64)
        touch_number[touch_order] = 1 + np.arange(touch_order.size)
        with replacing(truth_dir / "future_orders.parquet") as out:
            truth.future_orders(sim).write_parquet(out, compression=COMPRESSION)
        _write_parquet_chunks(truth_dir / "orders.parquet", truth.orders(sim, touch_number))
        with replacing(truth_dir / "persons.parquet") as out:
            truth.persons(sim).write_parquet(out, compression=COMPRESSION)
        with replacing(truth_dir / "tickets.parquet") as out:
            truth.tickets(sim, case).write_parquet(out, compression=COMPRESSION)
        with replacing(truth_dir / "touchpoints.csv") as out:
            truth.touchpoints(sim, spend).write_csv(out, float_precision=4)
        if any(c.holdout_share > 0 for c in sim.params.campaigns):
            with replacing(out_dir / ASSIGNMENTS_PATH) as out:
                experiment_assignments(sim).write_csv(out, datetime_format=ISO_ZULU)
            with replacing(truth_dir / "experiments.csv") as out:
                holdouts.experiments(sim).write_csv(out, float_precision=6)
        return []

    jobs = {
        "orders": orders,
        "touches": touches,
        "web events": web_events,
        "customers": customers,
        "tickets and surveys": service,
        "ground truth": ground_truth,
    }
    say("writing " + ", ".join(jobs))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {pool.submit(job): name for name, job in jobs.items()}
        for future in as_completed(futures):
            future.result()
            release_memory()
            say(f"wrote {futures[future]}")
        # identity rows follow the fixed job order, whatever order the jobs finished in
        parts = [part for future in futures for part in future.result()]
    rows = {name: 0 for name in PATHS}
    for part in parts:
        rows[part.table] += part.rows
    rows["touchpoint_costs"] = costs.height
    say("writing truth/identity.parquet")
    _write_identity(truth_dir / "identity.parquet", parts, sim.people.n)
    doc = json.dumps(truth.params_document(sim, rows), sort_keys=True, indent=2, ensure_ascii=False)
    with replacing(truth_dir / "params.json") as out:
        out.write((doc + "\n").encode("utf-8"))
    config_path = out_dir / "cxdata.yaml"
    with replacing(config_path) as out:
        out.write(project_config(sim.params).encode("utf-8"))
    say("done")
    return GeneratedProject(out_dir, config_path, data_dir, truth_dir, rows, sim.params)


def experiment_assignments(sim: Simulation) -> pl.DataFrame:
    """The holdout assignments as the product records them (experiment_assignments' columns), with the
    person's CRM number (``customer_ref``) where the product has the resolved ``customer_key``."""
    frame = holdouts.assignments(sim)
    number = sim.people.crm_ref[frame["person_id"].to_numpy()]
    ref = customer_refs(sim.people, number, "customer_ref")
    return frame.with_columns(ref).select("campaign", "customer_ref", "group", "share", "assigned_at", "salt_id")


@dataclass(frozen=True)
class Part:
    """What truth/identity.parquet needs of a written chunk: its record ids and persons."""

    table: str
    rows: int
    person: np.ndarray
    record_id: pl.Series | None
    first_id: int

    @classmethod
    def of(cls, table: str, chunk: tables.Chunk) -> Part:
        """What identity needs of ``chunk``, without keeping its frame alive."""
        return cls(table, chunk.frame.height, chunk.person, chunk.record_id, chunk.first_id)


def project_config(params: SynthParams) -> str:
    """The cxdata.yaml text that maps every generated source onto the canonical tables."""
    sources: dict[str, Any] = {}
    for table, path in PATHS.items():
        source: dict[str, Any] = {"path": path, "columns": COLUMNS[table]}
        if table == "orders":
            source["formats"] = {"ordered_at": ORDER_DATE}
        sources[table] = source
    config = {
        "name": params.name,
        "warehouse": "duckdb:///warehouse.duckdb",
        "as_of": params.as_of,
        "timezone": params.timezone,
        # the daily partitions start at the simulated history's first day (a day early across a clock change)
        "incremental": {"start_date": params.as_of - timedelta(days=params.history_days)},
        "sources": sources,
        # National phone formats are read in the main country first, then in the other countries people live in.
        "identity": {
            "default_region": params.phone_countries[0].code,
            "phone_regions": [country.code for country in params.phone_countries],
        },
        "models": {
            "clv": {"horizon_days": params.horizon_days or 365, "annual_discount_rate": 0.10},
            "churn": {"horizon_days": 90},
            # what a CRM team knows of its own programme: which campaigns are there to keep customers
            "touchpoints": {
                "retention_campaigns": [
                    f"{c.channel}/{c.campaign}" for c in params.campaigns if c.retention_effect > 0
                ]
            },
        },
    }
    # marketing's win-back audience on Meta: each run sends the changes of the segment, hashed, for ads
    config["activation"] = {
        "destinations": {
            "winback_meta": {"segment": "high_value_at_risk", "template": "meta", "purpose": "ads",
                             "path": "exports/winback_meta"}
        }
    }  # fmt: skip
    if any(c.holdout_share > 0 for c in params.campaigns):
        config["models"]["experiments"] = {"response_days": params.experiment_response_days}
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)


def _write_parquet_chunks(path: Path, frames: Iterator[pl.DataFrame]) -> None:
    writer = None
    with replacing(path) as out:
        try:
            for frame in frames:
                table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
                if writer is None:
                    # dictionary-encode only the low-cardinality (Enum) columns: trying it on ids wastes time
                    coded = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
                    writer = pq.ParquetWriter(out, table.schema, compression=COMPRESSION, use_dictionary=coded)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()


def _write_identity(path: Path, parts: list[Part], n_customers: int) -> None:
    """Stream every record's (source table, record id, person) into one Parquet file."""
    frames = []
    for part in parts:
        table = part.table
        if part.record_id is not None:
            frame = pl.DataFrame({"record_id": part.record_id, "person_id": part.person}).lazy()
        else:
            frame = (
                pl.DataFrame({"person_id": part.person})
                .lazy()
                .with_row_index("record_id", offset=part.first_id)
                .with_columns(pl.col("record_id").cast(pl.String))
            )
        frames.append(
            frame.select(
                pl.lit(table).cast(SOURCE_TABLE).alias("source_table"),
                "record_id",
                pl.col("person_id").cast(pl.Int64),
                (pl.col("person_id") < n_customers).alias("is_customer"),
            )
        )
    # fixed row groups keep the bytes independent of how many threads polars streams with
    with replacing(path) as out:
        pl.concat(frames).sink_parquet(out, compression=COMPRESSION, row_group_size=IDENTITY_ROW_GROUP)
