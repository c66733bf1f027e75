"""The ground truth beside data/: future orders, people, orders and tickets as simulated, touchpoint value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl

from cxdata.synth.identifiers import labels, prefixed_ids
from cxdata.synth.params import SynthParams, recommendation
from cxdata.synth.simulate import Simulation
from cxdata.synth.tables import CHUNK_ROWS, utc

DEFINITIONS = {
    "identity": "one row per record of every data/ source but touchpoint_costs (spend names no person): "
    "source_table, record_id (the source's id as text), person_id, is_customer (false for anonymous-only "
    "visitors, whose person_ids follow the customers')",
    "persons": "truth/persons.parquet: each person's latent lambda (purchases a day), dropout p, spend rate nu, "
    "acquisition, dropout and first save",
    "as_of_cutoff": "data/ holds records strictly before the local midnight that ends as_of in the project "
    "timezone (cutoff_utc); truth/future_orders.parquet holds orders from cutoff_utc to cutoff_utc + horizon_days",
    "dropout": "after each purchase (also the first when dropout_after_first_order) a person drops out with "
    "probability p, times bad_service_dropout_factor when that order's ticket was bad, times "
    "(1 - retention_effect) for every retention campaign that contacted the person in the "
    "retention_window_days before; one uniform per decision, so a prevented dropout (a save) is exact",
    "bad_ticket": "first response slower than sla_hours, or latent CSAT <= bad_csat_max (answered or not); only "
    "tickets on organic orders feed the dropout decision",
    "caused_order": "an extra web order a contact of a living customer caused with probability "
    "incremental_order_prob; tagged with that campaign",
    "saved_by": "the campaign behind a person's first save; every later order of that person is tagged with it",
    "true_incremental_revenue": "revenue of orders caused by clicks before the cutoff (orders up to the horizon)",
    "true_retention_revenue": "revenue of organic orders after saves made before the cutoff (up to the horizon)",
    "true_roi": "(true_incremental_revenue + true_retention_revenue) / cost; cost is the spend in data/",
    "service_rows": "rows with channel 'service' are ticket channels (campaign = ticket channel): no cost, "
    "true_retention_effect = -(bad share of its dropout-deciding tickets before the cutoff) x "
    "(bad_service_dropout_factor - 1), the relative change in the next dropout probability; "
    "true_retention_revenue, true_roi and recommendation are empty",
    "recommendation": "invest if true_roi > roi_hurdle + roi_band, cut if true_roi < roi_hurdle - roi_band, "
    "else hold",
    "experiments": "truth/experiments.csv, per campaign with holdout_share > 0, over the people assigned at its "
    "first planned contact whose window of experiment_response_days ended by the cutoff: treated, control, "
    "true_incremental_orders and true_incremental_revenue (kept orders of the treated in their window that the "
    "campaign caused or that followed a dropout it prevented), true_itt_orders and true_itt_revenue (those per "
    "treated person: the effect of being assigned to treatment); data/experiment_assignments.csv holds the "
    "assignments before the cutoff as experiment_assignments rows keyed by customer_ref",
}


def _campaign_names(params: SynthParams, campaign: np.ndarray, field: str, name: str) -> pl.Series:
    return labels([getattr(c, field) for c in params.campaigns], campaign, name)


def future_orders(sim: Simulation) -> pl.DataFrame:
    """Orders from the cutoff to the end of the horizon, by time."""
    o, params = sim.orders, sim.params
    idx = np.flatnonzero(o.time >= sim.timeline.cutoff)
    idx = idx[sim.timeline.chronological(o.time[idx])]
    return pl.DataFrame(
        [
            pl.Series("person_id", o.person[idx].astype(np.int64)),
            utc(sim.timeline, o.time[idx], "ordered_at"),
            pl.Series("amount", o.amount[idx]),
            labels([c.name for c in params.order_channels], o.channel[idx], "channel"),
            pl.Series("organic", o.organic[idx]),
            _campaign_names(params, o.caused_campaign[idx], "channel", "caused_by_channel"),
            _campaign_names(params, o.caused_campaign[idx], "campaign", "caused_by_campaign"),
            _campaign_names(params, o.saved_campaign[idx], "channel", "saved_by_channel"),
            _campaign_names(params, o.saved_campaign[idx], "campaign", "saved_by_campaign"),
        ]
    )


def orders(sim: Simulation, touch_number: np.ndarray) -> Iterator[pl.DataFrame]:
    """Every order in data/ with its person and what caused it, by order number, in chunks."""
    o, params = sim.orders, sim.params
    order = o.in_number_order()
    for start in range(0, max(order.size, 1), CHUNK_ROWS):
        idx = order[start : start + CHUNK_ROWS]
        cause = o.cause_touch[idx]
        cause_id = np.where(cause >= 0, touch_number[np.maximum(cause, 0)], 0)
        yield pl.DataFrame(
            [
                pl.Series("order_id", o.number[idx]).cast(pl.String),
                pl.Series("person_id", o.person[idx].astype(np.int64)),
                utc(sim.timeline, o.time[idx], "ordered_at"),
                pl.Series("amount", o.amount[idx]),
                pl.Series("organic", o.organic[idx]),
                _campaign_names(params, o.caused_campaign[idx], "channel", "caused_by_channel"),
                _campaign_names(params, o.caused_campaign[idx], "campaign", "caused_by_campaign"),
                pl.Series("cause_touch_id", cause_id).cast(pl.String).set(pl.Series(cause_id <= 0), None),
                _campaign_names(params, o.saved_campaign[idx], "channel", "saved_by_channel"),
                _campaign_names(params, o.saved_campaign[idx], "campaign", "saved_by_campaign"),
            ]
        )


def persons(sim: Simulation) -> pl.DataFrame:
    """Each person's latent parameters and fate; anonymous visitors last, with is_customer false."""
    p, fate, o, tl, params = sim.people, sim.fate, sim.orders, sim.timeline, sim.params
    n, total = p.n, sim.n_persons
    future = o.time >= tl.cutoff
    customer = np.arange(total) < n

    def pad(values: np.ndarray, fill: float | int | bool = 0) -> np.ndarray:
        return np.r_[values, np.full(total - n, fill, dtype=np.asarray(values).dtype)]

    def stamp(days: np.ndarray, known: np.ndarray, name: str) -> pl.Series:
        return utc(tl, np.where(known, days, 0.0), name).set(pl.Series(~known), None)

    dropped, saved = pad(np.isfinite(fate.death), False), pad(np.isfinite(fate.save_time), False)
    return pl.DataFrame(
        [
            pl.Series("person_id", np.arange(total, dtype=np.int64)),
            pl.Series("is_customer", customer),
            pl.Series("has_crm", pad(p.has_crm, False)),
            labels([c.code for c in params.phone_countries], pad(p.country.astype(np.int16), -1), "country"),
            stamp(pad(p.acquired), customer, "acquired_at"),
            pl.Series("lambda_per_day", pad(p.lam, np.nan)).fill_nan(None),
            pl.Series("dropout_p", pad(p.dropout_p, np.nan)).fill_nan(None),
            pl.Series("spend_nu", pad(p.nu, np.nan)).fill_nan(None),
            pl.Series("mean_spend", pad(params.spend_p / p.nu, np.nan)).fill_nan(None),
            pl.Series("alive_at_as_of", pad(fate.death >= tl.cutoff, False)),
            stamp(pad(fate.death), dropped, "dropped_at"),
            stamp(pad(fate.save_time), saved, "saved_at"),
            _campaign_names(params, pad(fate.save_campaign, -1), "channel", "saved_by_channel"),
            _campaign_names(params, pad(fate.save_campaign, -1), "campaign", "saved_by_campaign"),
            pl.Series("orders_history", np.bincount(o.person[~future], minlength=total)),
            pl.Series("orders_future", np.bincount(o.person[future], minlength=total)),
            pl.Series(
                "revenue_future", np.round(np.bincount(o.person[future], o.amount[future], minlength=total), 2)
            ),
        ]
    )


def tickets(sim: Simulation, case: np.ndarray) -> pl.DataFrame:
    """Every ticket in data/ with its person, order and whether its service was bad."""
    t = sim.tickets
    idx = np.flatnonzero(case >= 0)
    idx = idx[np.argsort(case[idx], kind="stable")]
    number = sim.orders.number[t.order[idx]]
    return pl.DataFrame(
        [
            prefixed_ids("CS", case[idx], 7, "ticket_id"),
            pl.Series("person_id", t.person[idx].astype(np.int64)),
            pl.Series("order_id", number).cast(pl.String).set(pl.Series(number < 0), None),
            pl.Series("is_bad", t.bad[idx]),
            pl.Series("slow_first_response", t.slow[idx]),
            pl.Series("csat_latent", t.csat[idx].astype(np.int64)),
            pl.Series("affects_dropout", t.affects_dropout[idx]),
        ]
    )


def touchpoints(sim: Simulation, spend: np.ndarray) -> pl.DataFrame:
    """Per campaign: spend, what it truly earned by causing orders and preventing dropout, and the verdict."""
    o, t, pu, tl, params = sim.orders, sim.touches, sim.fate, sim.timeline, sim.params
    k = len(params.campaigns)
    # cause_touch is set only for clicks inside the data window
    caused = np.flatnonzero((o.caused_campaign >= 0) & (o.cause_touch >= 0))
    incremental = np.bincount(o.caused_campaign[caused], weights=o.amount[caused], minlength=k)
    n_caused = np.bincount(o.caused_campaign[caused], minlength=k)
    saved_before = pu.save_time[o.person] < tl.cutoff
    kept = np.flatnonzero(o.organic & (o.saved_campaign >= 0) & saved_before)
    retention = np.bincount(o.saved_campaign[kept], weights=o.amount[kept], minlength=k)
    save_mask = (pu.save_campaign >= 0) & (pu.save_time < tl.cutoff)
    saves = np.bincount(pu.save_campaign[save_mask], minlength=k)
    contacts = np.bincount(t.campaign, minlength=k)
    value = incremental + retention
    roi = np.divide(value, spend, out=np.full(k, np.nan), where=spend > 0)
    campaigns = pl.DataFrame(
        {
            "channel": [c.channel for c in params.campaigns],
            "campaign": [c.campaign for c in params.campaigns],
            "cost": np.round(spend, 2),
            "touches": contacts,
            "caused_orders": n_caused,
            "true_incremental_order_prob": [c.incremental_order_prob for c in params.campaigns],
            "true_incremental_revenue": np.round(incremental, 2),
            "true_retention_effect": [c.retention_effect for c in params.campaigns],
            "saves": saves,
            "true_retention_revenue": np.round(retention, 2),
            "true_roi": np.round(roi, 4),
            "recommendation": recommendation(roi, params.roi_hurdle, params.roi_band),
        }
    )
    return pl.concat([campaigns, service_touchpoints(sim)], how="diagonal_relaxed")


def service_touchpoints(sim: Simulation) -> pl.DataFrame:
    """Per service channel (channel "service", campaign the ticket channel): tickets in data/ and the true
    retention effect, the relative change a ticket makes in the next dropout probability (negative: more
    dropout): minus the bad share of the channel's dropout-deciding tickets times (bad_service_dropout_factor - 1).
    """
    t, params, cutoff = sim.tickets, sim.params, sim.timeline.cutoff
    k = len(params.ticket_channels)
    history = t.opened < cutoff
    deciding = history & t.affects_dropout
    n = np.bincount(t.channel[deciding], minlength=k)
    bad = np.bincount(t.channel[deciding], weights=t.bad[deciding], minlength=k)
    share = np.divide(bad, n, out=np.zeros(k), where=n > 0)
    return pl.DataFrame(
        {
            "channel": ["service"] * k,
            "campaign": [c.name for c in params.ticket_channels],
            "cost": np.zeros(k),
            "touches": np.bincount(t.channel[history], minlength=k),
            "caused_orders": np.zeros(k, dtype=np.int64),
            "true_incremental_order_prob": np.zeros(k),
            "true_incremental_revenue": np.zeros(k),
            "true_retention_effect": np.round(-share * (params.bad_service_dropout_factor - 1.0), 4),
            "saves": np.zeros(k, dtype=np.int64),
        }
    )


def params_document(sim: Simulation, row_counts: dict[str, int]) -> dict[str, Any]:
    """Every parameter of the run at the top level, plus what was realised and how the truth is defined."""
    o, tl, pu = sim.orders, sim.timeline, sim.fate
    history = o.time < tl.cutoff
    doc = sim.params.to_dict()
    doc["cutoff_utc"] = tl.cutoff_utc.isoformat()
    doc["planted_mean_spend"] = sim.params.mean_spend()
    doc["definitions"] = DEFINITIONS
    doc["realised"] = {
        "customers": int(sim.people.n),
        "anonymous_visitors": int(sim.visitors.n),
        "orders_history": int(history.sum()),
        "orders_future": int((~history).sum()),
        "caused_orders_history": int((history & ~o.organic).sum()),
        "orders_per_customer_history": float(history.sum() / sim.people.n),
        "mean_amount_history": float(o.amount[history].mean()) if history.any() else 0.0,
        "dropouts_before_cutoff": int((pu.death < tl.cutoff).sum()),
        "saves_before_cutoff": int((pu.save_time < tl.cutoff).sum()),
        "bad_tickets_history": int((sim.tickets.bad & (sim.tickets.opened < tl.cutoff)).sum()),
        "rows": dict(row_counts),
    }
    return doc
