"""Generated projects shared by the synth tests, each written once per session.

``read`` loads a written project back with plain polars, the way a user would,
plus its truth, so the tests check the files rather than the generator's insides.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl
import pytest

from cxdata.synth import GeneratedProject, SynthParams, generate_project
from cxdata.synth.params import DEFAULT_CAMPAIGNS

RATE_CUSTOMERS = 20_000


@dataclass
class Project:
    """A generated project read back from its files."""

    result: GeneratedProject

    @property
    def root(self) -> Path:
        return self.result.out_dir

    @cached_property
    def params(self) -> dict:
        return json.loads((self.root / "truth" / "params.json").read_text(encoding="utf-8"))

    @cached_property
    def cutoff(self) -> pl.Series:
        return pl.Series([self.params["cutoff_utc"]]).str.to_datetime(time_unit="us").dt.convert_time_zone("UTC")

    def csv(self, name: str) -> pl.DataFrame:
        return pl.read_csv(self.root / "data" / f"{name}.csv", infer_schema=False)

    @cached_property
    def customers(self) -> pl.DataFrame:
        return self.csv("customers")

    @cached_property
    def orders(self) -> pl.DataFrame:
        return self.csv("orders")

    @cached_property
    def tickets(self) -> pl.DataFrame:
        return self.csv("tickets")

    @cached_property
    def surveys(self) -> pl.DataFrame:
        return self.csv("surveys")

    @cached_property
    def costs(self) -> pl.DataFrame:
        return self.csv("touchpoint_costs")

    @cached_property
    def web_events(self) -> pl.DataFrame:
        return pl.read_parquet(self.root / "data" / "web_events")

    @cached_property
    def touches(self) -> pl.DataFrame:
        return pl.read_parquet(self.root / "data" / "touches.parquet")

    def truth(self, name: str) -> pl.DataFrame:
        path = self.root / "truth" / name
        return pl.read_csv(path) if path.suffix == ".csv" else pl.read_parquet(path)

    @cached_property
    def identity(self) -> pl.DataFrame:
        return self.truth("identity.parquet").with_columns(pl.col("source_table").cast(pl.String))

    def people_of(self, table: str, frame: pl.DataFrame, id_column: str) -> pl.DataFrame:
        """``frame`` with each record's true ``person_id`` (and ``is_customer``) from the identity truth."""
        ids = self.identity.filter(pl.col("source_table") == table).drop("source_table")
        keyed = frame.with_columns(pl.col(id_column).cast(pl.String).alias("record_id"))
        return keyed.join(ids, on="record_id", how="left")


def _generate(tmp_path_factory: pytest.TempPathFactory, name: str, params: SynthParams) -> Project:
    return Project(generate_project(tmp_path_factory.mktemp(name), params))


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Project:
    """The default process at a size where the planted rates are measurable."""
    return _generate(tmp_path_factory, "default", SynthParams(customers=RATE_CUSTOMERS, seed=5))


@pytest.fixture(scope="session")
def plain_project(tmp_path_factory) -> Project:
    """Service and marketing switched off: orders follow the bare BG/NBD-like process."""
    campaigns = tuple(
        dataclasses.replace(c, incremental_order_prob=0.0, retention_effect=0.0) for c in DEFAULT_CAMPAIGNS
    )
    params = SynthParams(customers=RATE_CUSTOMERS, seed=6, bad_service_dropout_factor=1.0, campaigns=campaigns)
    return _generate(tmp_path_factory, "plain", params)


@pytest.fixture(scope="session")
def boosted_project(tmp_path_factory) -> Project:
    """Campaign effects large enough to count caused orders per campaign; no captured clicks."""
    campaigns = tuple(
        dataclasses.replace(
            c,
            incremental_order_prob=min(0.5, 20 * c.incremental_order_prob),
            captured_web_order_share=0.0,
        )
        for c in DEFAULT_CAMPAIGNS
    )
    return _generate(tmp_path_factory, "boosted", SynthParams(customers=8_000, seed=7, campaigns=campaigns))
