"""Render the sales and service sources (CRM, orders, tickets, surveys) with native column names.

Large sources are built and yielded in fixed-size chunks so memory stays bounded at
tens of millions of rows. Each chunk comes with its truth: the person behind
every record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.synth import identifiers as ids
from cxdata.synth.names import TICKET_CATEGORIES
from cxdata.synth.service import SURVEY_KINDS
from cxdata.synth.simulate import Simulation
from cxdata.synth.timeline import Timeline

CHUNK_ROWS = 1_000_000
PRIORITIES = ("low", "normal", "high")


@dataclass
class Chunk:
    """Rows of one source and, row for row, the true person behind each record.

    Builders draw their per-record randomness chunk by chunk in a fixed order, so a
    run is reproducible as long as ``CHUNK_ROWS`` stays the same.

    Record ids are either ``record_id`` (text) or, for numbered sources, consecutive
    numbers from ``first_id``.
    """

    frame: pl.DataFrame
    person: np.ndarray
    record_id: pl.Series | None = None
    first_id: int = 0


def utc(timeline: Timeline, days: np.ndarray, name: str) -> pl.Series:
    """Simulation days as a UTC timestamp column (whole seconds)."""
    return pl.Series(name, timeline.to_us(days)).cast(pl.Datetime("us", "UTC"))


def _chunks(n: int) -> Iterator[slice]:
    for start in range(0, max(n, 1), CHUNK_ROWS):
        yield slice(start, min(start + CHUNK_ROWS, n))


def customers(sim: Simulation, rng: np.random.Generator) -> Chunk:
    """The CRM export: one row per customer number, a person's duplicate record included."""
    p, params = sim.people, sim.params
    crm = np.flatnonzero(p.has_crm)
    dup = np.flatnonzero(p.dup_ref >= 0)
    person = np.r_[crm, dup]
    number = np.r_[p.crm_ref[crm], p.dup_ref[dup]]
    created = np.r_[p.crm_created[crm], p.dup_created[dup]]
    is_dup = np.r_[np.zeros(crm.size, bool), np.ones(dup.size, bool)]
    order = np.argsort(number, kind="stable")
    person, number, created, is_dup = person[order], number[order], created[order], is_dup[order]
    n = person.size
    address = ids.email_index(p, person, np.full(n, sim.timeline.cutoff), is_dup)
    everyone = np.ones(n, bool)
    email_noise = ids.draw_noise(rng, n, params, len(params.email_placeholders))
    phone_noise = ids.draw_noise(rng, n, params, len(params.phone_placeholders))
    fmt = ids.draw_phone_formats(rng, n, params)
    ref = ids.customer_refs(p, number, "customer_number")
    frame = pl.DataFrame(
        [
            ref,
            p.first_names.gather(person).alias("first_name"),
            p.last_names.gather(person).alias("surname"),
            ids.render_emails(p, address, everyone, email_noise, params, "email"),
            ids.render_phones(p, person, fmt, everyone, phone_noise, params, "mobile"),
            p.postcodes.gather(person).alias("zip"),
            ids.labels([c.code for c in params.phone_countries], p.country[person], "country"),
            utc(sim.timeline, created, "created"),
            pl.Series("marketing_opt_in", p.subscribed[person]),
            *_consent(sim, rng, person, created),
        ]
    )
    return Chunk(frame, person, record_id=ref)


def _consent(
    sim: Simulation, rng: np.random.Generator, person: np.ndarray, created: np.ndarray
) -> list[pl.Series]:
    """Each CRM record's consent statement (Y/N per purpose, and when it was made); a duplicate record states
    its own, so a person's newest statement is the one that counts."""
    params, n = sim.params, person.size
    u = rng.random((4, n))
    stated = u[0] >= params.consent_missing_share
    when = created + u[1] * (sim.timeline.cutoff - created)

    def flag(values: np.ndarray, name: str) -> pl.Series:
        return pl.Series(name, np.where(values, "Y", "N")).set(pl.Series(~stated), None)

    return [
        flag(sim.people.subscribed[person], "email_opt_in"),
        flag(u[2] < params.sms_consent_share, "sms_opt_in"),
        flag(u[3] < params.ads_consent_share, "ads_opt_in"),
        utc(sim.timeline, when, "consent_changed").set(pl.Series(~stated), None),
    ]


def orders(sim: Simulation, rng: np.random.Generator) -> Iterator[Chunk]:
    """The shop's order export, by order number, with local naive timestamps (formatted on write)."""
    o, p, params = sim.orders, sim.people, sim.params
    order = o.in_number_order()
    names = [c.name for c in params.order_channels]
    store_ch, phone_ch = _index(names, "store"), _index(names, "phone")
    email_share = np.array([c.email_share for c in params.order_channels])
    phone_share = np.array([c.phone_share for c in params.order_channels])
    stores = [f"ST{i:03d}" for i in range(1, params.stores + 1)]
    for s in _chunks(order.size):
        idx = order[s]
        m = idx.size
        person, time, channel = o.person[idx], o.time[idx], o.channel[idx]
        u = rng.random((6, m), dtype=np.float32)
        guest = ~p.has_crm[person] | (u[0] < params.guest_order_share)
        duplicate = ~guest & (p.dup_ref[person] >= 0) & (time >= p.dup_created[person]) & (u[1] < 0.5)
        ref = np.where(guest, -1, np.where(duplicate, p.dup_ref[person], p.crm_ref[person]))
        # a till records a guest as customer -1, a habit of point-of-sale systems
        pos_guest = guest & (channel == store_ch) & (u[2] < 0.5)
        has_email = np.where(guest, channel != phone_ch, u[3] < email_share[channel])
        has_phone = np.where(guest, channel == phone_ch, u[4] < phone_share[channel])
        home_store = np.where(u[5] < 0.8, p.home_store[person], rng.integers(1, params.stores + 1, m))
        store = np.where(channel == store_ch, home_store, -1)
        cust = ids.customer_refs(p, ref, "cust_id")
        if pos_guest.any():
            cust = cust.set(pl.Series(pos_guest), "-1")
        email_noise = ids.draw_noise(rng, m, params, len(params.email_placeholders))
        phone_noise = ids.draw_noise(rng, m, params, len(params.phone_placeholders))
        fmt = ids.draw_phone_formats(rng, m, params)
        frame = pl.DataFrame(
            [
                pl.Series("order_no", o.number[idx]),
                _local(sim, time, "order_date"),
                cust,
                ids.render_emails(
                    p, ids.email_index(p, person, time, duplicate), has_email, email_noise, params, "email_address"
                ),
                ids.render_phones(p, person, fmt, has_phone, phone_noise, params, "phone_number"),
                pl.Series("total", o.amount[idx]),
                ids.labels([params.currency], np.zeros(m, np.int8), "currency"),
                ids.labels(names, channel, "sales_channel"),
                ids.labels(["completed", "refunded"], o.refunded[idx].astype(np.int8), "order_status"),
                ids.labels(stores, store - 1, "store_id"),
                ids.labels(o.coupon_codes, o.coupon[idx], "coupon_code"),
            ]
        )
        yield Chunk(frame, person, first_id=int(o.number[idx[0]]) if m else 0)


def _local(sim: Simulation, days: np.ndarray, name: str) -> pl.Series:
    """Naive wall-clock time in the project's timezone, as a till or shop back office records it."""
    utc_us = sim.timeline.to_us(days)
    transitions, offsets = sim.timeline.utc_offsets(sim.params.timezone)
    local_us = utc_us + offsets[np.searchsorted(transitions, utc_us, side="right")]
    return pl.Series(name, local_us).cast(pl.Datetime("us"))


def case_numbers(sim: Simulation) -> np.ndarray:
    """Every ticket's case number, in order of opening; -1 for tickets opened after the cutoff."""
    t = sim.tickets
    idx = np.flatnonzero(t.opened < sim.timeline.cutoff)
    case = np.full(t.order.size, -1, dtype=np.int64)
    case[idx[sim.timeline.chronological(t.opened[idx])]] = 1 + np.arange(idx.size)
    return case


def tickets(sim: Simulation, case: np.ndarray, rng: np.random.Generator) -> Chunk:
    """The helpdesk export, by case number, timestamps in UTC with 'Z'."""
    t, p, params = sim.tickets, sim.people, sim.params
    cutoff = sim.timeline.cutoff
    idx = np.flatnonzero(case >= 0)
    idx[case[idx] - 1] = idx.copy()
    n = idx.size
    person = t.person[idx]
    address = ids.email_index(p, person, t.opened[idx])
    email_noise = ids.draw_noise(rng, n, params, len(params.email_placeholders))
    phone_noise = ids.draw_noise(rng, n, params, len(params.phone_placeholders))
    fmt = ids.draw_phone_formats(rng, n, params)
    record = ids.prefixed_ids("CS", case[idx], 7, "case_number")
    first_response, resolved = t.first_response[idx], t.resolved[idx]
    priority = np.where(t.bad[idx] & (rng.random(n) < 0.5), 2, np.minimum(rng.integers(0, 4, n), 1))
    frame = pl.DataFrame(
        [
            record,
            utc(sim.timeline, t.opened[idx], "created_at"),
            utc(sim.timeline, first_response, "first_response_at").set(pl.Series(first_response >= cutoff), None),
            utc(sim.timeline, resolved, "solved_at").set(pl.Series(resolved >= cutoff), None),
            ids.labels([c.name for c in params.ticket_channels], t.channel[idx], "channel"),
            ids.labels(TICKET_CATEGORIES, t.category[idx], "topic"),
            ids.labels(PRIORITIES, priority, "priority"),
            ids.customer_refs(p, np.where(t.has_ref[idx], p.crm_ref[person], -1), "customer_id"),
            ids.render_emails(p, address, t.has_email[idx], email_noise, params, "requester_email"),
            ids.render_phones(p, person, fmt, t.has_phone[idx], phone_noise, params, "requester_phone"),
        ]
    )
    return Chunk(frame, person, record_id=record)


def surveys(sim: Simulation, case: np.ndarray, rng: np.random.Generator) -> Chunk:
    """The survey tool's export, timestamps with the local UTC offset."""
    s, p, params = sim.surveys, sim.people, sim.params
    idx = np.flatnonzero(s.time < sim.timeline.cutoff)
    idx = idx[sim.timeline.chronological(s.time[idx])]
    n = idx.size
    person = s.person[idx]
    address = ids.email_index(p, person, s.time[idx])
    noise = ids.draw_noise(rng, n, params, len(params.email_placeholders))
    ticket = s.ticket[idx]
    ticket_case = np.where(ticket >= 0, case[np.maximum(ticket, 0)], -1)
    record = ids.prefixed_ids("R", 1 + np.arange(n), 8, "response_id")
    frame = pl.DataFrame(
        [
            record,
            ids.labels(SURVEY_KINDS, s.kind[idx], "survey_type"),
            ids.prefixed_ids("CS", ticket_case, 7, "ticket_ref").set(pl.Series(ticket_case < 0), None),
            ids.customer_refs(p, np.where(s.has_ref[idx], p.crm_ref[person], -1), "customer_id"),
            ids.render_emails(p, address, s.has_email[idx], noise, params, "respondent_email"),
            utc(sim.timeline, s.time[idx], "submitted_at").dt.convert_time_zone(params.timezone),
            pl.Series("score", s.score[idx].astype(np.int64)),
        ]
    )
    return Chunk(frame, person, record_id=record)


def _index(names: list[str], name: str) -> int:
    return names.index(name) if name in names else -1
