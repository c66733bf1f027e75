"""Marketing: campaign contacts, the opens and clicks they lead to, the orders they cause, their costs.

Contacts are Poisson processes per person and campaign. Retention campaigns are
drawn before purchases are simulated (they change dropout); the others after, over
each person's living span when they target living customers, or from acquisition on
when they mail subscribers (who keep receiving mail after they silently drop out).
Each contact gets one uniform that decides, once, whether it caused an order, so the
truth is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cxdata.synth.params import TOUCH_KINDS, SynthParams
from cxdata.synth.people import People
from cxdata.synth.timeline import Timeline

SENT, OPEN, CLICK, IMPRESSION = (TOUCH_KINDS.index(k) for k in ("sent", "open", "click", "impression"))
DAYS_PER_YEAR = 365.25
MINUTE = 1.0 / 1440


@dataclass
class Contacts:
    """First touches of customers by campaigns (an email sent, an ad shown or clicked)."""

    person: np.ndarray
    time: np.ndarray
    campaign: np.ndarray

    @staticmethod
    def concat(parts: list[Contacts]) -> Contacts:
        """All parts' contacts, in order."""
        return Contacts(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Contacts)))


@dataclass
class Touches:
    """Touch records (sent/open/click/impression) of customers and anonymous visitors."""

    person: np.ndarray
    device: np.ndarray  # -1 when the channel knows no cookie (email)
    time: np.ndarray
    campaign: np.ndarray
    kind: np.ndarray
    caused: np.ndarray  # this record is the click behind a touch-caused order
    session_order: np.ndarray  # order placed in this click's web session, -1 if none

    @property
    def size(self) -> int:
        return self.person.size

    @staticmethod
    def concat(parts: list[Touches]) -> Touches:
        """All parts' touches, in order."""
        return Touches(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Touches)))

    def subset(self, keep: np.ndarray) -> tuple[Touches, np.ndarray]:
        """The touches where ``keep``, and each old index's new index (-1 if dropped)."""
        new_index = np.where(keep, np.cumsum(keep) - 1, -1).astype(np.int32)
        return Touches(*(getattr(self, f.name)[keep] for f in fields(Touches))), new_index


@dataclass
class CausedOrders:
    """Orders a touch caused: who, when, which campaign, the click record, same session or not."""

    person: np.ndarray
    time: np.ndarray
    campaign: np.ndarray
    touch: np.ndarray
    in_session: np.ndarray


class RetentionIndex:
    """Finds, at a dropout decision, the retention campaigns that contacted the person recently."""

    def __init__(self, contacts: Contacts, params: SynthParams, timeline: Timeline, n_people: int) -> None:
        self.window = params.retention_window_days
        # keys person*width + time never reach the next person's keys, so one sorted array serves all
        self.width = timeline.end + self.window + 1.0
        self.reached = np.zeros(n_people, dtype=bool)
        self.reached[contacts.person] = True
        self.parts = []
        for ci, campaign in enumerate(params.campaigns):
            if campaign.retention_effect > 0:
                mine = contacts.campaign == ci
                keys = np.sort(contacts.person[mine] * self.width + contacts.time[mine])
                self.parts.append((ci, campaign.retention_effect, keys))

    def lookup(self, person: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The dropout multiplier for each (person, time) and the strongest campaign behind it (-1 if none)."""
        multiplier = np.ones(person.size)
        best = np.full(person.size, -1, dtype=np.int8)
        reached = np.flatnonzero(self.reached[person])
        best_effect = np.zeros(reached.size)
        query = person[reached] * self.width + time[reached]
        for ci, effect, keys in self.parts:
            pos = np.searchsorted(keys, query, side="right") - 1
            recent = np.flatnonzero((pos >= 0) & (keys[np.maximum(pos, 0)] >= query - self.window))
            multiplier[reached[recent]] *= 1.0 - effect
            stronger = recent[effect > best_effect[recent]]
            best[reached[stronger]] = ci
            best_effect[stronger] = effect
        return multiplier, best


def plan_contacts(
    people: People,
    params: SynthParams,
    timeline: Timeline,
    rng: np.random.Generator,
    retention: bool,
    death: np.ndarray | None = None,
) -> Contacts:
    """Draw the contacts of customers by the retention campaigns (``retention``) or by all the others.

    Retention campaigns must be drawn before purchases are simulated, as they change
    dropout; the others are drawn afterwards, over living spans only when ``death`` is given.
    """
    parts = []
    for ci, campaign in enumerate(params.campaigns):
        if (campaign.retention_effect > 0) != retention:
            continue
        subscribers = campaign.audience == "subscribers"
        who = np.flatnonzero(people.subscribed) if subscribers else np.arange(people.n)
        end = np.full(who.size, timeline.end)
        if death is not None and not subscribers:
            end = np.minimum(end, death[who])
        person, time = _poisson(rng, who, people.acquired[who], end, campaign.contacts_per_year)
        parts.append((person, time, np.full(person.size, ci, dtype=np.int8)))
    if not parts:
        return Contacts(np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int8))
    return Contacts(
        person=np.concatenate([p[0] for p in parts]).astype(np.int32),
        time=np.concatenate([p[1] for p in parts]),
        campaign=np.concatenate([p[2] for p in parts]),
    )


def realise_contacts(
    contacts: Contacts,
    people: People,
    death: np.ndarray,
    params: SynthParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> tuple[Touches, CausedOrders]:
    """Touch records of the data window, with opens and clicks, and every order a contact caused.

    After the cutoff only the caused orders are needed (for the truth), so future
    contacts are not expanded into touch records.
    """
    person, time, campaign = contacts.person, contacts.time, contacts.campaign
    alive = time <= death[person]
    aims_alive = np.array([c.audience == "alive" for c in params.campaigns])
    keep = alive | ~aims_alive[campaign]
    person, time, campaign, alive = person[keep], time[keep], campaign[keep], alive[keep]
    incremental = np.array([c.incremental_order_prob for c in params.campaigns])
    # one uniform per contact decides, once, whether it caused an order
    caused = alive & (rng.random(person.size) < incremental[campaign])
    now = time < timeline.cutoff
    later = np.flatnonzero(caused & ~now)
    later_person, later_campaign = person[later], campaign[later]
    later_time = time[later] + rng.uniform(0.05, params.caused_order_max_delay_days, later.size)
    person, time, campaign, alive, caused = person[now], time[now], campaign[now], alive[now], caused[now]

    device = np.full(person.size, -1, dtype=np.int32)
    has_cookie = np.flatnonzero(_contact_kind(params)[campaign] != SENT)
    device[has_cookie] = people.random_device(person[has_cookie], rng.random(has_cookie.size))
    touches, click_of = _expand(person, device, time, campaign, alive, caused, params, rng)
    touch = click_of[caused]
    in_session = rng.random(touch.size) < params.in_session_order_share
    delay = np.where(
        in_session,
        rng.uniform(2 * MINUTE, 30 * MINUTE, touch.size),
        rng.uniform(0.05, params.caused_order_max_delay_days, touch.size),
    )
    order_time = np.r_[touches.time[touch] + delay, later_time]
    real = order_time < timeline.end
    touches.caused[touch[real[: touch.size]]] = True
    caused_orders = CausedOrders(
        person=np.r_[touches.person[touch], later_person][real],
        time=order_time[real],
        campaign=np.r_[touches.campaign[touch], later_campaign][real],
        touch=np.r_[touch, np.full(later.size, -1)][real].astype(np.int32),
        in_session=np.r_[in_session, np.zeros(later.size, bool)][real],
    )
    return touches, caused_orders


def visitor_touches(
    person: np.ndarray,
    device: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    params: SynthParams,
    rng: np.random.Generator,
) -> Touches:
    """Impressions and clicks that reach anonymous visitors during their visiting span."""
    parts = []
    for ci, campaign in enumerate(params.campaigns):
        if campaign.visitor_contacts_per_year <= 0 or campaign.contact_kind == "sent":
            continue
        who = np.arange(person.size)
        idx, time = _poisson(rng, who, start, end, campaign.visitor_contacts_per_year)
        parts.append((idx, time, np.full(idx.size, ci, dtype=np.int8)))
    if not parts:
        return _empty_touches()
    idx = np.concatenate([p[0] for p in parts])
    time = np.concatenate([p[1] for p in parts])
    campaign = np.concatenate([p[2] for p in parts])
    yes, no = np.ones(idx.size, bool), np.zeros(idx.size, bool)
    touches, _ = _expand(person[idx], device[idx], time, campaign, yes, no, params, rng)
    return touches


def captured_clicks(
    order_person: np.ndarray,
    order_time: np.ndarray,
    people: People,
    params: SynthParams,
    rng: np.random.Generator,
) -> tuple[Touches, np.ndarray]:
    """Clicks just before organic web orders that the campaign did not cause; returns them and their orders."""
    shares = np.array([c.captured_web_order_share for c in params.campaigns])
    if shares.sum() <= 0 or order_person.size == 0:
        return _empty_touches(), np.zeros(0, dtype=np.int64)
    pick = np.searchsorted(np.cumsum(shares), rng.random(order_person.size), side="right")
    which = np.flatnonzero(pick < shares.size)
    person = order_person[which]
    n = which.size
    touches = Touches(
        person=person,
        device=people.random_device(person, rng.random(n)),
        time=order_time[which] - rng.uniform(2 * MINUTE, 20 * MINUTE, n),
        campaign=pick[which].astype(np.int8),
        kind=np.full(n, CLICK, dtype=np.int8),
        caused=np.zeros(n, bool),
        session_order=np.full(n, -1, dtype=np.int32),
    )
    return touches, which


def touch_costs(campaign: np.ndarray, kind: np.ndarray, params: SynthParams) -> np.ndarray:
    """What each touch record costs before the monthly noise: per contact, plus per click where billed so."""
    contact_kind = _contact_kind(params)[campaign]
    per_contact = np.array([c.cost_per_contact for c in params.campaigns])[campaign]
    per_click = np.array([c.cost_per_click for c in params.campaigns])[campaign]
    is_click = (kind == CLICK) & (contact_kind != CLICK)
    return np.where(kind == contact_kind, per_contact, 0.0) + np.where(is_click, per_click, 0.0)


def _contact_kind(params: SynthParams) -> np.ndarray:
    return np.array([TOUCH_KINDS.index(c.contact_kind) for c in params.campaigns], dtype=np.int8)


def _poisson(
    rng: np.random.Generator, who: np.ndarray, start: np.ndarray, end: np.ndarray, per_year: float
) -> tuple[np.ndarray, np.ndarray]:
    span = np.maximum(end - start, 0.0)
    counts = rng.poisson(per_year / DAYS_PER_YEAR * span)
    person = np.repeat(who, counts)
    time = np.repeat(start, counts) + rng.random(person.size) * np.repeat(span, counts)
    return person, time


def _expand(
    person: np.ndarray,
    device: np.ndarray,
    time: np.ndarray,
    campaign: np.ndarray,
    alive: np.ndarray,
    caused: np.ndarray,
    params: SynthParams,
    rng: np.random.Generator,
) -> tuple[Touches, np.ndarray]:
    """Contact records plus their opens and clicks; also, per contact, the index of its click record."""
    n = person.size
    kind = _contact_kind(params)[campaign]
    open_rate = np.array([c.open_rate for c in params.campaigns])[campaign]
    click_rate = np.array([c.click_rate for c in params.campaigns])[campaign]
    # a caused contact is always opened and clicked: nobody orders from an ad they never followed
    sent = np.flatnonzero(kind == SENT)
    open_p = open_rate[sent] * np.where(alive[sent], 1.0, params.dead_open_factor)
    o = sent[caused[sent] | (rng.random(sent.size) < open_p)]
    open_time = time[o] + (3.0 / 24) * np.exp(rng.standard_normal(o.size))
    candidates = np.concatenate([o, np.flatnonzero(kind == IMPRESSION)])
    after = np.concatenate(
        [
            open_time + 2 * MINUTE * np.exp(rng.standard_normal(o.size)),
            time[candidates[o.size :]] + rng.exponential(10 / 86400, candidates.size - o.size),
        ]
    )
    clicked = caused[candidates] | (rng.random(candidates.size) < click_rate[candidates])
    c, click_time = candidates[clicked], after[clicked]
    click_of = np.where(kind == CLICK, np.arange(n), -1)
    click_of[c] = n + o.size + np.arange(c.size)
    rows = np.concatenate([np.arange(n), o, c])
    touches = Touches(
        person=person[rows],
        device=device[rows],
        time=np.concatenate([time, open_time, click_time]),
        campaign=campaign[rows],
        kind=np.concatenate([kind, np.full(o.size, OPEN, np.int8), np.full(c.size, CLICK, np.int8)]),
        caused=np.zeros(rows.size, bool),
        session_order=np.full(rows.size, -1, dtype=np.int32),
    )
    return touches, click_of


def _empty_touches() -> Touches:
    return Touches(
        person=np.zeros(0, np.int32),
        device=np.zeros(0, np.int32),
        time=np.zeros(0),
        campaign=np.zeros(0, np.int8),
        kind=np.zeros(0, np.int8),
        caused=np.zeros(0, bool),
        session_order=np.zeros(0, np.int32),
    )
