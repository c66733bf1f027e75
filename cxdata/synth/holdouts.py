"""Randomised holdouts of CRM campaigns: who is withheld, the assignments the product would record, the truth.

A campaign with ``holdout_share > 0`` assigns each person at the first contact it
plans for them: with that probability to control, whose contacts of that campaign
are all withheld (they are simply never sent), otherwise to treatment. The groups
are drawn from their own child of the seed, so projects without holdouts draw
exactly what they drew before.

The data/ file holds what ``cxdata segments export --holdout`` records in the
warehouse table ``experiment_assignments``, keyed by ``customer_ref`` (the CRM
number of data/customers.csv) instead of the resolved ``customer_key``; a holdout
campaign mails subscribers, who all have one. The truth is the effect of the
assignment among the treated: the kept orders in the response window after
assignment that the campaign caused, directly or by preventing a dropout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cxdata.synth.marketing import Contacts
from cxdata.synth.params import SynthParams
from cxdata.synth.purchases import Orders
from cxdata.synth.timeline import SECONDS_PER_DAY

if TYPE_CHECKING:
    from cxdata.synth.simulate import Simulation

GROUPS = ("treatment", "control")  # indexed by whether the person is control
SALT_ID_LENGTH = 12  # as the product's fingerprints (cxdata.touchpoints.experiments.salt_id)


@dataclass
class Assignments:
    """People assigned to a holdout campaign at its first planned contact of them, and their group."""

    person: np.ndarray
    campaign: np.ndarray
    control: np.ndarray
    time: np.ndarray

    @staticmethod
    def concat(parts: list[Assignments]) -> Assignments:
        """All parts' assignments, in order."""
        return Assignments(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Assignments)))

    @staticmethod
    def empty() -> Assignments:
        """No assignments."""
        return Assignments(np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, bool), np.zeros(0))


def draw_groups(n_people: int, params: SynthParams, rng: np.random.Generator) -> dict[int, np.ndarray]:
    """Per holdout campaign (by index), whether each person is in its control group."""
    return {
        ci: rng.random(n_people) < campaign.holdout_share
        for ci, campaign in enumerate(params.campaigns)
        if campaign.holdout_share > 0
    }


def withhold(contacts: Contacts, control: dict[int, np.ndarray]) -> tuple[Contacts, Assignments]:
    """``contacts`` without those of control people of holdout campaigns, and the assignments: each person a
    holdout campaign plans to contact is assigned at the first such contact."""
    if not control:
        return contacts, Assignments.empty()
    drop = np.zeros(contacts.person.size, dtype=bool)
    parts = []
    for ci, is_control in control.items():
        mine = np.flatnonzero(contacts.campaign == ci)
        if mine.size == 0:
            continue
        person, time = contacts.person[mine], contacts.time[mine]
        order = np.lexsort((time, person))
        first = order[np.r_[True, person[order][1:] != person[order][:-1]]]
        assigned = person[first]
        parts.append(Assignments(assigned, np.full(first.size, ci, np.int8), is_control[assigned], time[first]))
        drop[mine] = is_control[person]
    kept = Contacts(contacts.person[~drop], contacts.time[~drop], contacts.campaign[~drop])
    return kept, Assignments.concat(parts) if parts else Assignments.empty()


def salt_id(seed: int) -> str:
    """The fingerprint the generated assignments carry: the product's format, of a salt nobody holds."""
    digest = hashlib.blake2b(f"cxdata synthetic holdout {seed}".encode(), digest_size=16).hexdigest()
    return digest[:SALT_ID_LENGTH]


def assignments(sim: Simulation) -> pl.DataFrame:
    """The assignments made before the cutoff, by campaign and time: campaign ("channel/campaign"),
    person_id, group, share, assigned_at, salt_id."""
    a, params, tl = sim.assignments, sim.params, sim.timeline
    idx = np.flatnonzero(a.time < tl.cutoff)
    idx = idx[np.lexsort((a.person[idx], a.time[idx], a.campaign[idx]))]
    labels = [f"{c.channel}/{c.campaign}" for c in params.campaigns]
    shares = np.array([c.holdout_share for c in params.campaigns])
    return pl.DataFrame(
        [
            pl.Series("campaign", labels, dtype=pl.String).gather(a.campaign[idx].astype(np.int64)),
            pl.Series("person_id", a.person[idx].astype(np.int64)),
            pl.Series("group", GROUPS, dtype=pl.String).gather(a.control[idx].astype(np.int64)),
            pl.Series("share", shares[a.campaign[idx]]),
            pl.Series("assigned_at", tl.to_us(a.time[idx])).cast(pl.Datetime("us", "UTC")),
            pl.Series("salt_id", [salt_id(params.seed)] * idx.size, dtype=pl.String),
        ]
    )


def kept_orders(sim: Simulation) -> pl.DataFrame:
    """The kept (not refunded) orders of data/ by person, as the product reads purchases: person_id,
    ordered_at, amount."""
    o, tl = sim.orders, sim.timeline
    idx = np.flatnonzero((o.time < tl.cutoff) & ~o.refunded)
    return pl.DataFrame(
        [
            pl.Series("person_id", o.person[idx].astype(np.int64)),
            pl.Series("ordered_at", tl.to_us(o.time[idx])).cast(pl.Datetime("us", "UTC")),
            pl.Series("amount", o.amount[idx]),
        ]
    )


def experiments(sim: Simulation) -> pl.DataFrame:
    """Per holdout campaign, over the people whose response window ended by the cutoff: treated and control
    people, the kept orders and revenue the campaign caused among the treated in their windows (caused by
    its contacts, or placed after a dropout it prevented), and those per treated person (the ITT effect)."""
    a, o, params, tl = sim.assignments, sim.orders, sim.params, sim.timeline
    window = round(params.experiment_response_days * SECONDS_PER_DAY)
    start = tl.seconds(a.time)
    read = np.flatnonzero(start + window <= tl.seconds(np.array([tl.cutoff]))[0])
    k = len(params.campaigns)
    treated_people = read[~a.control[read]]
    treated = np.bincount(a.campaign[treated_people], minlength=k)
    control = np.bincount(a.campaign[read[a.control[read]]], minlength=k)
    due = _due_orders(o)
    caused = (
        pl.DataFrame(
            {
                "person": a.person[treated_people].astype(np.int64),
                "campaign": a.campaign[treated_people].astype(np.int64),
                "start": start[treated_people],
            }
        )
        .join(due.with_columns(seconds=tl.seconds(due["time"].to_numpy())), on="person")
        .filter(
            ((pl.col("caused_campaign") == pl.col("campaign")) | (pl.col("saved_campaign") == pl.col("campaign")))
            & (pl.col("seconds") >= pl.col("start"))
            & (pl.col("seconds") < pl.col("start") + window)
        )
        .group_by("campaign")
        .agg(pl.len().alias("orders"), pl.col("amount").sum().alias("revenue"))
    )
    orders_by = np.zeros(k)
    revenue_by = np.zeros(k)
    orders_by[caused["campaign"].to_numpy()] = caused["orders"].to_numpy()
    revenue_by[caused["campaign"].to_numpy()] = caused["revenue"].to_numpy()
    held = [ci for ci, c in enumerate(params.campaigns) if c.holdout_share > 0]
    n_treated = treated[held]
    per = np.maximum(n_treated, 1)
    return pl.DataFrame(
        {
            "campaign": [f"{params.campaigns[ci].channel}/{params.campaigns[ci].campaign}" for ci in held],
            "holdout_share": [params.campaigns[ci].holdout_share for ci in held],
            "response_days": [float(params.experiment_response_days)] * len(held),
            "treated": n_treated,
            "control": control[held],
            "true_incremental_orders": orders_by[held].astype(np.int64),
            "true_incremental_revenue": np.round(revenue_by[held], 2),
            "true_itt_orders": np.where(n_treated > 0, orders_by[held] / per, np.nan),
            "true_itt_revenue": np.where(n_treated > 0, revenue_by[held] / per, np.nan),
        },
        schema_overrides={"treated": pl.Int64, "control": pl.Int64},
    ).with_columns(pl.col("true_itt_orders", "true_itt_revenue").fill_nan(None))


def _due_orders(o: Orders) -> pl.DataFrame:
    """Kept orders a campaign caused or that follow a save: the only ones a campaign can be owed."""
    idx = np.flatnonzero(((o.caused_campaign >= 0) | (o.saved_campaign >= 0)) & ~o.refunded)
    return pl.DataFrame(
        {
            "person": o.person[idx].astype(np.int64),
            "time": o.time[idx],
            "amount": o.amount[idx],
            "caused_campaign": o.caused_campaign[idx].astype(np.int64),
            "saved_campaign": o.saved_campaign[idx].astype(np.int64),
        }
    )
