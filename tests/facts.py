"""Fact tables of a generated project keyed by the true person: `cxdata.synth.facts.person_facts`, under the
name the tests import."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.synth.facts import person_facts
from cxdata.warehouse import Warehouse

__all__ = ["person_facts", "published_facts"]


def published_facts(wh: Warehouse, facts: dict[str, pl.DataFrame]) -> dt.datetime:
    """Publish ``facts`` into ``wh``; the last order's moment."""
    for name, frame in facts.items():
        wh.publish(name, frame)
    return wh.read("fct_orders", columns=["ordered_at"])["ordered_at"].max()
