"""Service: tickets after orders, their response and resolution times, CSAT, CES and NPS answers.

A ticket is *bad* when its first response misses the SLA or its (latent)
satisfaction is at most ``bad_csat_max``; the purchase process multiplies the
person's next dropout probability when the ticket followed an organic order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxdata.synth.names import TICKET_CATEGORY_WEIGHTS
from cxdata.synth.params import SynthParams
from cxdata.synth.timeline import Timeline

CSAT, NPS, CES = 0, 1, 2
SURVEY_KINDS = ("csat", "nps", "ces")


@dataclass
class TicketDraws:
    """What decides a ticket's quality, drawn as the order happens."""

    order: np.ndarray
    channel: np.ndarray
    first_response_hours: np.ndarray
    csat: np.ndarray
    bad: np.ndarray

    def shifted(self, offset: int) -> TicketDraws:
        """The same draws with order indexes moved by ``offset``."""
        return TicketDraws(self.order + offset, self.channel, self.first_response_hours, self.csat, self.bad)

    @staticmethod
    def concat(parts: list[TicketDraws]) -> TicketDraws:
        """All parts' draws, in order."""
        return TicketDraws(*(np.concatenate([getattr(p, f) for p in parts]) for f in TicketDraws.__annotations__))


@dataclass
class Tickets:
    """Every ticket (history and future): its order, person, times in days and quality."""

    order: np.ndarray
    person: np.ndarray
    channel: np.ndarray
    category: np.ndarray
    opened: np.ndarray
    first_response: np.ndarray
    resolved: np.ndarray
    csat: np.ndarray
    bad: np.ndarray
    slow: np.ndarray
    affects_dropout: np.ndarray
    has_ref: np.ndarray
    has_email: np.ndarray
    has_phone: np.ndarray


@dataclass
class Surveys:
    """Every survey answer: its kind, ticket (-1 for NPS), person, time in days and score."""

    kind: np.ndarray
    ticket: np.ndarray
    person: np.ndarray
    time: np.ndarray
    score: np.ndarray
    has_ref: np.ndarray
    has_email: np.ndarray


def draw_tickets(rng: np.random.Generator, n: int, params: SynthParams) -> TicketDraws:
    """Which of ``n`` orders get a ticket, on which channel, how fast it is answered and how it is judged."""
    order = np.flatnonzero(rng.random(n) < params.ticket_prob)
    m = order.size
    channels = params.ticket_channels
    shares = np.array([c.share for c in channels])
    channel = np.minimum(
        np.searchsorted(np.cumsum(shares / shares.sum()), rng.random(m), side="right"), len(shares) - 1
    )
    median = np.array([c.first_response_median_hours for c in channels])[channel]
    sigma = np.array([c.first_response_sigma for c in channels])[channel]
    hours = median * np.exp(sigma * rng.standard_normal(m))
    latent = params.csat_base - params.csat_slope * np.log1p(hours) + params.csat_noise_sd * rng.standard_normal(m)
    csat = np.clip(np.round(latent), 1, 5).astype(np.int8)
    bad = (hours > params.sla_hours) | (csat <= params.bad_csat_max)
    return TicketDraws(order, channel.astype(np.int8), hours, csat, bad)


def build_tickets(
    organic: TicketDraws,
    caused: TicketDraws,
    n_organic: int,
    order_person: np.ndarray,
    order_time: np.ndarray,
    has_crm: np.ndarray,
    params: SynthParams,
    rng: np.random.Generator,
) -> Tickets:
    """Give every drawn ticket its times, category and the identifiers the helpdesk recorded."""
    draws = TicketDraws.concat([organic, caused.shifted(n_organic)])
    m = draws.order.size
    channels = params.ticket_channels
    person = order_person[draws.order]
    opened = order_time[draws.order] + params.ticket_delay_median_days * np.exp(0.8 * rng.standard_normal(m))
    first_response = opened + draws.first_response_hours / 24.0
    res_median = np.array([c.resolution_median_hours for c in channels])[draws.channel]
    res_sigma = np.array([c.resolution_sigma for c in channels])[draws.channel]
    resolved = first_response + res_median * np.exp(res_sigma * rng.standard_normal(m)) / 24.0
    weights = np.array(TICKET_CATEGORY_WEIGHTS)
    category = np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(m), side="right")
    email_share = np.array([c.email_share for c in channels])[draws.channel]
    phone_share = np.array([c.phone_share for c in channels])[draws.channel]
    return Tickets(
        order=draws.order,
        person=person,
        channel=draws.channel,
        category=np.minimum(category, weights.size - 1).astype(np.int8),
        opened=opened,
        first_response=first_response,
        resolved=resolved,
        csat=draws.csat,
        bad=draws.bad,
        slow=draws.first_response_hours > params.sla_hours,
        affects_dropout=np.r_[np.ones(organic.order.size, bool), np.zeros(caused.order.size, bool)],
        has_ref=has_crm[person] & (rng.random(m) < params.ticket_ref_share),
        has_email=rng.random(m) < email_share,
        has_phone=rng.random(m) < phone_share,
    )


def build_surveys(
    tickets: Tickets,
    alive_start: np.ndarray,
    alive_end: np.ndarray,
    dropout_p: np.ndarray,
    has_crm: np.ndarray,
    params: SynthParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> Surveys:
    """CSAT and CES after resolved tickets; relational NPS for living CRM customers."""
    m = tickets.order.size
    csat_idx = np.flatnonzero(rng.random(m) < params.csat_response_rate)
    csat_time = tickets.resolved[csat_idx] + (4.0 / 24) * np.exp(rng.standard_normal(csat_idx.size))
    ces_idx = np.flatnonzero(rng.random(m) < params.ces_response_rate)
    ces_time = tickets.resolved[ces_idx] + (6.0 / 24) * np.exp(rng.standard_normal(ces_idx.size))
    effort_hours = (tickets.resolved[ces_idx] - tickets.opened[ces_idx]) * 24.0
    ces = np.clip(np.round(6.3 - 0.5 * np.log1p(effort_hours) + rng.standard_normal(ces_idx.size)), 1, 7)

    crm = np.flatnonzero(has_crm)
    span = np.maximum(alive_end[crm] - alive_start[crm], 0.0)
    counts = rng.poisson(params.nps_per_year / 365.25 * span)
    nps_person = np.repeat(crm, counts)
    nps_time = np.repeat(alive_start[crm], counts) + rng.random(nps_person.size) * np.repeat(span, counts)
    had_bad = _had_bad_ticket(tickets, nps_person, nps_time, timeline.end + 1.0)
    latent = 9.0 - 10.0 * dropout_p[nps_person] - 2.0 * had_bad + 1.5 * rng.standard_normal(nps_person.size)
    nps = np.clip(np.round(latent), 0, 10)

    kind = np.r_[np.full(csat_idx.size, CSAT), np.full(nps_person.size, NPS), np.full(ces_idx.size, CES)]
    ticket = np.r_[csat_idx, np.full(nps_person.size, -1), ces_idx]
    person = np.r_[tickets.person[csat_idx], nps_person, tickets.person[ces_idx]]
    on_ticket_ref = tickets.has_ref[np.maximum(ticket, 0)]
    has_ref = np.where(ticket >= 0, on_ticket_ref, rng.random(kind.size) < 0.8) & has_crm[person]
    return Surveys(
        kind=kind.astype(np.int8),
        ticket=ticket.astype(np.int64),
        person=person,
        time=np.r_[csat_time, nps_time, ces_time],
        score=np.r_[tickets.csat[csat_idx], nps, ces].astype(np.float64),
        has_ref=has_ref,
        has_email=(ticket < 0) | (rng.random(kind.size) < 0.5),
    )


def _had_bad_ticket(tickets: Tickets, person: np.ndarray, time: np.ndarray, width: float) -> np.ndarray:
    keys = np.sort(tickets.person[tickets.bad] * width + tickets.opened[tickets.bad])
    before = np.searchsorted(keys, person * width + time) - np.searchsorted(keys, person * width)
    return before > 0
