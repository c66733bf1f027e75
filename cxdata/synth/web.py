"""Web analytics: sessions on devices around web orders, campaign clicks and plain browsing.

Only devices whose owner consented to tracking leave events. A session starts with a
landing page view that carries the click's UTM tags or a referrer; some sessions on
devices where the person logs in carry a login event naming them. Anonymous-only
visitors, who never identify, are sized so they are a planted share of all visitors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxdata.synth import names as nm
from cxdata.synth.marketing import CLICK, SENT, Touches, visitor_touches
from cxdata.synth.params import TOUCH_KINDS, SynthParams
from cxdata.synth.people import People
from cxdata.synth.purchases import Orders
from cxdata.synth.timeline import Timeline

EVENT_TYPES = ("page_view", "login", "form_submit", "add_to_cart", "purchase")
PAGE_VIEW, LOGIN, FORM_SUBMIT, ADD_TO_CART, PURCHASE = range(len(EVENT_TYPES))
FIXED_PAGES = (
    "/",
    "/cart",
    "/checkout",
    "/checkout/confirmation",
    "/account/login",
    "/newsletter",
    *nm.HELP_PAGES,
)
HOME, CART, CHECKOUT, CONFIRMATION, LOGIN_PAGE, NEWSLETTER, HELP = range(7)
N_HELP = len(nm.HELP_PAGES)
SESSION_BATCH = 1_000_000


def page_paths(params: SynthParams) -> list[str]:
    """The page vocabulary that event page codes index."""
    return [
        *FIXED_PAGES,
        *(f"/category/{c}" for c in nm.CATEGORIES),
        *(f"/product/{i}" for i in range(1, params.products + 1)),
    ]


@dataclass
class Sessions:
    """Web sessions to expand into events; an order session ends with that order's purchase."""

    person: np.ndarray
    device: np.ndarray
    start: np.ndarray
    order: np.ndarray  # index into Orders, -1 for none
    order_time: np.ndarray  # nan when the session has no order
    utm: np.ndarray  # campaign index, -1 for none
    from_click: np.ndarray


@dataclass
class WebEvents:
    """Every tracked event before the cutoff; ``ident`` is 0 none, 1 customer_ref, 2 email."""

    person: np.ndarray
    device: np.ndarray
    time: np.ndarray
    event_type: np.ndarray
    page: np.ndarray
    utm: np.ndarray
    referrer: np.ndarray
    session: np.ndarray
    order: np.ndarray
    ident: np.ndarray


@dataclass
class Visitors:
    """Anonymous-only visitors: person ids from ``first_person``, one device each."""

    first_person: int
    first_device: int
    start: np.ndarray
    end: np.ndarray

    @property
    def n(self) -> int:
        return self.start.size


def simulate_web(
    people: People,
    orders: Orders,
    captured: np.ndarray,
    touches: Touches,
    death: np.ndarray,
    params: SynthParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> tuple[WebEvents, Visitors, Touches]:
    """Build customers' and anonymous visitors' web events; returns them, the visitors and their touches.

    ``captured`` maps touch index -> order index for clicks that preceded organic web orders.
    """
    cutoff = timeline.cutoff
    web = next((i for i, c in enumerate(params.order_channels) if c.name == "web"), 0)
    order_touch = np.full(orders.size, -1, dtype=np.int32)
    order_touch[captured[:, 1]] = captured[:, 0]

    # a captured click opens the session of the order it preceded, so it gets no session of its own
    landing = (touches.kind == CLICK) & (touches.time < cutoff) & (touches.person < people.n)
    landing[captured[:, 0]] = False
    clicks = np.flatnonzero(landing)
    click_device = np.where(
        touches.device[clicks] >= 0,
        touches.device[clicks],
        people.random_device(touches.person[clicks], rng.random(clicks.size)),
    )
    click_order = touches.session_order[clicks]
    from_clicks = _sessions(
        touches.person[clicks],
        click_device,
        touches.time[clicks] + 3 / 86400,
        click_order,
        orders,
        touches.campaign[clicks],
        True,
    )

    own = np.flatnonzero((orders.channel == web) & (orders.time < cutoff) & ~orders.in_session)
    via = order_touch[own]
    device = np.where(
        via >= 0,
        touches.device[np.maximum(via, 0)],
        people.random_device(orders.person[own], rng.random(own.size)),
    )
    utm = np.where(via >= 0, touches.campaign[np.maximum(via, 0)], -1)
    for_orders = _sessions(orders.person[own], device, orders.time[own], own, orders, utm, False)

    alive_end = np.minimum(death, cutoff)
    span = np.maximum(alive_end - people.acquired, 0.0)
    counts = rng.poisson(params.browse_sessions_per_year / 365.25 * span)
    person = np.repeat(np.arange(people.n), counts)
    start = np.repeat(people.acquired, counts) + rng.random(person.size) * np.repeat(span, counts)
    browsing = _sessions(
        person,
        people.random_device(person, rng.random(person.size)),
        start,
        np.full(person.size, -1),
        orders,
        np.full(person.size, -1),
        False,
    )

    customer = _concat([from_clicks, for_orders, browsing])
    del from_clicks, for_orders, browsing
    customer = _subset(customer, people.device_tracked[customer.device])
    events = _batched_events(customer, people, orders, params, timeline, rng, logins=True)
    del customer

    seen = np.zeros(people.n, dtype=bool)
    seen[events.person] = True
    visitors = _visitors(int(seen.sum()), people, params, timeline, rng)
    v_person = visitors.first_person + np.arange(visitors.n)
    v_device = visitors.first_device + np.arange(visitors.n)
    v_touches = visitor_touches(
        v_person.astype(np.int32), v_device.astype(np.int32), visitors.start, visitors.end, params, rng
    )
    v_clicks = np.flatnonzero((v_touches.kind == CLICK) & (v_touches.time < cutoff))
    n_sessions = 1 + rng.poisson(max(params.anonymous_sessions_mean - 1.0, 0.0), visitors.n)
    first = np.repeat(np.r_[0, np.cumsum(n_sessions)[:-1]], n_sessions) == np.arange(n_sessions.sum())
    owner = np.repeat(np.arange(visitors.n), n_sessions)
    v_start = (
        visitors.start[owner]
        + np.where(first, 0.0, rng.random(owner.size)) * (visitors.end - visitors.start)[owner]
    )
    none = np.full(owner.size + v_clicks.size, -1)
    anonymous = _sessions(
        np.r_[v_person[owner], v_touches.person[v_clicks]],
        np.r_[v_device[owner], v_touches.device[v_clicks]],
        np.r_[v_start, v_touches.time[v_clicks] + 3 / 86400],
        none,
        orders,
        np.r_[np.full(owner.size, -1), v_touches.campaign[v_clicks]],
        False,
    )
    anon_events = _batched_events(anonymous, people, orders, params, timeline, rng, logins=False)
    anon_events.session += events.session.max(initial=-1) + 1
    fields = WebEvents.__annotations__
    return (
        WebEvents(*(np.concatenate([getattr(events, f), getattr(anon_events, f)]) for f in fields)),
        visitors,
        v_touches,
    )


def _sessions(person, device, start, order, orders: Orders, utm, from_click) -> Sessions:
    order = np.asarray(order, dtype=np.int32)
    order_time = np.where(order >= 0, orders.time[np.maximum(order, 0)], np.nan)
    n = np.asarray(person).size
    return Sessions(
        person=np.asarray(person, dtype=np.int32),
        device=np.asarray(device, dtype=np.int32),
        start=np.asarray(start, dtype=np.float64),
        order=order,
        order_time=order_time,
        utm=np.asarray(utm, dtype=np.int8),
        from_click=np.full(n, from_click),
    )


def _concat(parts: list[Sessions]) -> Sessions:
    return Sessions(*(np.concatenate([getattr(p, f) for p in parts]) for f in Sessions.__annotations__))


def _subset(obj, mask):
    return type(obj)(*(getattr(obj, f)[mask] for f in type(obj).__annotations__))


def _batched_events(
    s: Sessions, people: People, orders: Orders, params: SynthParams, timeline: Timeline, rng, logins: bool
) -> WebEvents:
    """Events of the sessions before the cutoff, built a batch of sessions at a time to bound memory."""
    parts = []
    for start in range(0, max(s.person.size, 1), SESSION_BATCH):
        batch = _subset(s, slice(start, start + SESSION_BATCH))
        events = _events(batch, people, orders, params, rng, logins)
        events.session += start
        parts.append(_subset(events, events.time < timeline.cutoff))
    return WebEvents(*(np.concatenate([getattr(p, f) for p in parts]) for f in WebEvents.__annotations__))


def _events(s: Sessions, people: People, orders: Orders, params: SynthParams, rng, logins: bool) -> WebEvents:
    n = s.person.size
    has_order = s.order >= 0
    is_customer = s.person < people.n
    can_login = is_customer & logins
    logs_in = np.zeros(n, bool)
    logs_in[can_login] = people.device_logs_in[s.device[can_login]]
    has_crm = np.zeros(n, bool)
    has_crm[is_customer] = people.has_crm[s.person[is_customer]]
    login = logs_in & has_crm & (rng.random(n) < params.login_per_session)
    form = logs_in & ~has_crm & (rng.random(n) < params.form_submit_per_session)
    identified = login | form
    count = 1 + identified + rng.poisson(params.extra_page_views_mean, n) + 3 * has_order
    first = np.r_[0, np.cumsum(count)[:-1]]
    last = first + count - 1
    sid = np.repeat(np.arange(n, dtype=np.int32), count)
    m = sid.size

    # every event starts as a browsing page view; session-level positions are then overwritten
    n_cat, n_prod = len(nm.CATEGORIES), params.products
    roll = rng.random(m, dtype=np.float32)
    pick = rng.random(m, dtype=np.float32)
    # product popularity decays exponentially: a few best sellers, a long tail
    product = (len(FIXED_PAGES) + n_cat + (-np.log1p(-pick) * (n_prod / 4.0)) % n_prod).astype(np.int16)
    category = (len(FIXED_PAGES) + pick * n_cat).astype(np.int16)
    page = np.where(roll < 0.95, (HELP + pick * N_HELP).astype(np.int16), CART)
    page = np.where(roll < 0.85, category, page)
    page = np.where(roll < 0.55, product, page).astype(np.int16)
    del pick
    land = roll[first]
    landing = np.where(land < 0.4, HOME, np.where(land < 0.7, category[first], product[first]))
    by_email = (s.utm >= 0) & (_contact_kinds(params)[np.maximum(s.utm, 0)] == SENT)
    page[first] = np.where(by_email, HOME, landing)
    event_type = np.full(m, PAGE_VIEW, dtype=np.int8)
    who = np.flatnonzero(identified)
    event_type[first[who] + 1] = np.where(login[who], LOGIN, FORM_SUBMIT)
    page[first[who] + 1] = np.where(login[who], LOGIN_PAGE, NEWSLETTER)
    ident = np.zeros(m, dtype=np.int8)
    by_ref = rng.random(who.size) < params.login_by_ref_share
    ident[first[who] + 1] = np.where(login[who] & by_ref, 1, 2)
    buyer = np.flatnonzero(has_order)
    event_type[last[buyer] - 2] = ADD_TO_CART
    page[last[buyer] - 2] = product[last[buyer] - 2]
    page[last[buyer] - 1] = CHECKOUT
    event_type[last[buyer]] = PURCHASE
    page[last[buyer]] = CONFIRMATION
    order = np.full(m, -1, dtype=np.int32)
    order[last[buyer]] = s.order[buyer]
    utm = np.full(m, -1, dtype=np.int8)
    utm[first] = s.utm
    referrer = np.full(m, -1, dtype=np.int8)
    referrer[first] = np.where(s.utm < 0, _referrers(rng, n), -1)

    # seconds between events; an order session ends at the order, a click-and-buy one spans both
    within = rng.exponential(40.0 / 86400, m)
    within[first] = 0.0
    np.cumsum(within, out=within)
    within -= np.repeat(within[first], count)
    total = within[last]
    scale = np.where(has_order & s.from_click, (s.order_time - s.start) / np.maximum(total, 1e-12), 1.0)
    start = np.where(has_order & ~s.from_click, s.order_time - total, s.start)
    within *= np.repeat(scale, count)
    within += np.repeat(start, count)
    time = within
    return WebEvents(
        person=np.repeat(s.person, count),
        device=np.repeat(s.device, count),
        time=time,
        event_type=event_type,
        page=page,
        utm=utm,
        referrer=referrer,
        session=sid,
        order=order,
        ident=ident,
    )


def _referrers(rng: np.random.Generator, n: int) -> np.ndarray:
    cdf = np.cumsum(nm.REFERRER_WEIGHTS)
    pick = np.searchsorted(cdf, rng.random(n), side="right")
    return np.where(pick < cdf.size, pick, -1)


def _contact_kinds(params: SynthParams) -> np.ndarray:
    return np.array([TOUCH_KINDS.index(c.contact_kind) for c in params.campaigns], dtype=np.int8)


def _visitors(n_customers: int, people: People, params: SynthParams, timeline: Timeline, rng) -> Visitors:
    share = params.anonymous_visitor_share
    n = round(share / (1.0 - share) * n_customers) if share < 1 else 0
    last = timeline.cutoff - 1.0 / 24
    start = rng.uniform(0.0, last, n)
    end = np.minimum(start + rng.exponential(params.anonymous_visit_days, n), last)
    return Visitors(people.n, people.device_person.size, start, end)
