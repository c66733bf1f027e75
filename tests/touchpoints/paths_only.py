"""A paths-only project: touches and at most one order per customer, as ChannelAttribution-style journey data.

Every customer is one journey: a few marketing touches (channel only, no
campaign) within a week, then one order an hour after the last touch or none.
With no repeat purchase no CLV model can be fitted, so the project is what a
lead-generation or first-purchase dataset looks like to cxdata. The builder
writes raw CSV files and the cxdata.yaml that reads them, and returns the
paths it wrote so a test can compute the attribution independently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

CHANNELS = ("affiliate", "display", "email", "search", "social")
# how much each channel lifts the chance that the journey converts (distinct, so removal effects differ)
LIFT = {"affiliate": 0.05, "display": 0.02, "email": 0.15, "search": 0.30, "social": 0.08}
START = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)
AS_OF = dt.date(2025, 12, 31)


@dataclass(frozen=True)
class PathsProject:
    """The written project: its config and, per customer, the channel path (repeats kept) and whether it
    converted."""

    config_path: Path
    paths: pl.DataFrame  # customer_ref, path (list of channels in time order), converted


def build_paths_project(root: Path, customers: int = 240, seed: int = 3) -> PathsProject:
    """Write orders.csv, touches.csv and cxdata.yaml (DuckDB warehouse in ``root``) for ``customers`` journeys."""
    rng = np.random.default_rng(seed)
    refs = [f"L{i:05d}" for i in range(customers)]
    lengths = rng.integers(1, 6, customers)
    # skewed channel mix, and consecutive repeats (a second click on the same ad) now and then
    drawn = rng.choice(len(CHANNELS), size=int(lengths.sum()), p=[0.15, 0.3, 0.2, 0.2, 0.15])
    owner = np.repeat(np.arange(customers), lengths)
    first_day = rng.integers(0, 300, customers)
    touch_times = [
        START + dt.timedelta(days=int(first_day[c]), hours=int(12 * k))
        for c, k in zip(owner, _step_in_path(lengths), strict=True)
    ]
    lift = np.array([LIFT[ch] for ch in CHANNELS])
    reach = np.zeros(customers)
    np.add.at(reach, owner, lift[drawn])
    converted = rng.random(customers) < np.clip(0.05 + reach, 0.0, 0.95)
    touches = pl.DataFrame(
        {
            "touch_id": [f"T{i:06d}" for i in range(owner.size)],
            "crm_id": [refs[c] for c in owner],
            "event_time": [t.strftime("%Y-%m-%d %H:%M:%S") for t in touch_times],
            "channel": [CHANNELS[k] for k in drawn],
            "interaction": "click",
        }
    )
    last = np.cumsum(lengths) - 1
    buyers = np.flatnonzero(converted)
    orders = pl.DataFrame(
        {
            "order_no": [f"O{c:05d}" for c in buyers],
            "cust_id": [refs[c] for c in buyers],
            "order_date": [
                (touch_times[last[c]] + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S") for c in buyers
            ],
            "total": np.round(rng.uniform(20, 200, buyers.size), 2),
        }
    )
    root.mkdir(parents=True, exist_ok=True)
    touches.write_csv(root / "touches.csv")
    orders.write_csv(root / "orders.csv")
    config = root / "cxdata.yaml"
    config.write_text(
        "name: paths_only\n"
        f"warehouse: duckdb:///{root / 'warehouse.duckdb'}\n"
        f"as_of: {AS_OF.isoformat()}\n"
        "timezone: UTC\n"
        "sources:\n"
        "  orders:\n"
        "    path: orders.csv\n"
        "    columns: {order_id: order_no, customer_ref: cust_id, ordered_at: order_date, amount: total}\n"
        "  touches:\n"
        "    path: touches.csv\n"
        "    columns: {touch_id: touch_id, customer_ref: crm_id, occurred_at: event_time, channel: channel,"
        " kind: interaction}\n"
        "models:\n"
        "  touchpoints: {bootstrap_replicates: 20}\n",
        encoding="utf-8",
    )
    paths = pl.DataFrame(
        {
            "customer_ref": refs,
            "path": np.split(np.array(CHANNELS)[drawn], np.cumsum(lengths)[:-1]),
            "converted": converted,
        }
    ).with_columns(pl.col("path").cast(pl.List(pl.String)))
    return PathsProject(config, paths)


def _step_in_path(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ... within each path."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts
