"""Render the marketing, web and finance sources: touches, monthly web event files, campaign costs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from cxdata.synth import identifiers as ids
from cxdata.synth.marketing import touch_costs
from cxdata.synth.names import REFERRERS
from cxdata.synth.params import TOUCH_KINDS
from cxdata.synth.simulate import Simulation
from cxdata.synth.tables import CHUNK_ROWS, Chunk, utc
from cxdata.synth.web import EVENT_TYPES, page_paths


def touches(sim: Simulation, idx: np.ndarray, rng: np.random.Generator) -> Iterator[Chunk]:
    """The marketing platforms' touch log in ``idx`` order: email touches by address, ad touches by cookie."""
    t, p, params = sim.touches, sim.people, sim.params
    channels = [c.channel for c in params.campaigns]
    campaigns = [c.campaign for c in params.campaigns]
    for s in _slices(idx.size):
        rows = idx[s]
        person, device, time = t.person[rows], t.device[rows], t.time[rows]
        customer = person < p.n
        known = np.where(customer, person, 0)
        by_email = customer & (device < 0)
        has_ref = (
            by_email & p.has_crm[known] & (rng.random(rows.size, dtype=np.float32) < params.email_touch_ref_share)
        )
        noise = ids.draw_noise(rng, rows.size, params, len(params.email_placeholders))
        frame = pl.DataFrame(
            [
                pl.Series("touch_id", 1 + np.arange(s.start, s.stop, dtype=np.int64)),
                ids.customer_refs(p, np.where(has_ref, p.crm_ref[known], -1), "crm_id"),
                ids.render_emails(p, ids.email_index(p, known, time), by_email, noise, params, "email"),
                sim.device_ids.gather(np.maximum(device, 0)).set(pl.Series(device < 0), None).alias("cookie_id"),
                utc(sim.timeline, time, "event_time"),
                ids.labels(channels, t.campaign[rows], "channel"),
                ids.labels(campaigns, t.campaign[rows], "campaign_name"),
                ids.labels(TOUCH_KINDS, t.kind[rows], "interaction"),
            ]
        )
        yield Chunk(frame, person, first_id=1 + s.start)


def touch_order(sim: Simulation) -> np.ndarray:
    """Indexes of the touches in data/, in touch_id order (touch_id = position + 1)."""
    t = sim.touches
    idx = np.flatnonzero(t.time < sim.timeline.cutoff)
    return idx[sim.timeline.chronological(t.time[idx])]


def web_events(sim: Simulation, rng: np.random.Generator) -> Iterator[tuple[str, Chunk]]:
    """The web analytics export, one chunk per calendar month (UTC), named ``YYYY-MM``."""
    e, p, params = sim.events, sim.people, sim.params
    order = sim.timeline.chronological(e.time)
    us = sim.timeline.to_us(e.time)
    first, last = (
        (np.datetime64(int(us[order[i]]), "us").astype("datetime64[M]") for i in (0, -1)) if us.size else (0, 0)
    )
    months = np.arange(first, last + 1) if us.size else np.zeros(0, "datetime64[M]")
    starts = months.astype("datetime64[us]").astype(np.int64)
    bounds = np.searchsorted(us[order], np.r_[starts, np.iinfo(np.int64).max])
    pages = page_paths(params)
    utm = [[getattr(c, f) for c in params.campaigns] for f in ("utm_source", "utm_medium", "campaign")]
    for month, lo, hi in zip(months, bounds[:-1], bounds[1:], strict=True):
        s = slice(int(lo), int(hi))
        rows = order[s]
        person = e.person[rows]
        known = np.where(person < p.n, person, 0)
        noise = ids.draw_noise(rng, rows.size, params, len(params.email_placeholders))
        ident = e.ident[rows]
        campaign = e.utm[rows]
        sale = e.order[rows]
        frame = pl.DataFrame(
            [
                pl.Series("event_id", 1 + np.arange(s.start, s.stop, dtype=np.int64)),
                sim.device_ids.gather(e.device[rows]).alias("client_id"),
                ids.customer_refs(p, np.where(ident == 1, p.crm_ref[known], -1), "user_id"),
                ids.render_emails(
                    p, ids.email_index(p, known, e.time[rows]), ident == 2, noise, params, "user_email"
                ),
                pl.Series("event_timestamp", us[rows]).cast(pl.Datetime("us", "UTC")),
                ids.labels(EVENT_TYPES, e.event_type[rows], "event_name"),
                ids.labels(pages, e.page[rows], "page_path"),
                *(
                    ids.labels(values, campaign, name)
                    for values, name in zip(utm, ("utm_source", "utm_medium", "utm_campaign"), strict=True)
                ),
                ids.labels(REFERRERS, e.referrer[rows], "referrer"),
                pl.Series("session_id", e.session[rows].astype(np.int64) + 1),
                pl.Series("transaction_id", np.where(sale >= 0, sim.orders.number[np.maximum(sale, 0)], 0)).set(
                    pl.Series(sale < 0), None
                ),
            ]
        )
        yield str(month), Chunk(frame, person, first_id=1 + s.start)


def costs(sim: Simulation, rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    """Monthly spend per channel and campaign, and each campaign's total spend."""
    t, params = sim.touches, sim.params
    idx = np.flatnonzero(t.time < sim.timeline.cutoff)
    cost = touch_costs(t.campaign[idx], t.kind[idx], params)
    month = sim.timeline.to_us(t.time[idx]).astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    n_campaigns = len(params.campaigns)
    first = month.min(initial=0)
    cell = (month - first) * n_campaigns + t.campaign[idx]
    size = int(cell.max(initial=-1)) + 1
    spend = np.bincount(cell, weights=cost, minlength=size)
    noise = np.exp(params.cost_noise_sd * rng.standard_normal(size) - params.cost_noise_sd**2 / 2)
    spend = np.round(spend * noise, 2)
    cells = np.flatnonzero(spend > 0)
    campaign = cells % n_campaigns
    frame = pl.DataFrame(
        [
            pl.Series("month", (first + cells // n_campaigns).astype("datetime64[M]").astype("datetime64[D]")),
            pl.Series([c.channel for c in params.campaigns]).gather(campaign).alias("channel"),
            pl.Series([c.campaign for c in params.campaigns]).gather(campaign).alias("campaign"),
            pl.Series("spend", spend[cells]),
        ]
    ).sort("month", "channel", "campaign")
    total = np.bincount(campaign, weights=spend[cells], minlength=n_campaigns)
    return frame, total


def _slices(n: int) -> Iterator[slice]:
    for start in range(0, max(n, 1), CHUNK_ROWS):
        yield slice(start, min(start + CHUNK_ROWS, n))
