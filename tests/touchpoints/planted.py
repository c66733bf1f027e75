"""Small planted worlds for the touchpoint estimators: orders, touches and tickets with known effects."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAYS = 720.0


def stamps(days: np.ndarray) -> pl.Series:
    """UTC timestamps ``days`` after START."""
    return pl.Series((np.asarray(days) * 86_400_000_000).astype(np.int64)).cast(pl.Duration("us")) + START


def marketing_world(n: int = 3000, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Customers ordering at rate 1/30 a day; campaign "email/lift" sends cause an order within 2 days with
    probability 0.3; "social/none" impressions do nothing; "paid_search/brand" clicks come 10 minutes before
    a third of the orders (captured) plus random clicks that do nothing."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n), rng.poisson(DAYS / 30, n))
    time = rng.uniform(0, DAYS, person.size)
    sends_p = np.repeat(np.arange(n), rng.poisson(DAYS / 60, n))
    sends_t = rng.uniform(0, DAYS, sends_p.size)
    caused = rng.random(sends_p.size) < 0.3
    caused_t = sends_t[caused] + rng.uniform(0.01, 2.0, caused.sum())
    ads_p = np.repeat(np.arange(n), rng.poisson(DAYS / 60, n))
    ads_t = rng.uniform(0, DAYS, ads_p.size)
    captured = rng.random(person.size) < 1 / 3
    clicks_p = np.r_[person[captured], np.repeat(np.arange(n), rng.poisson(DAYS / 120, n))]
    clicks_t = np.r_[time[captured] - 10 / 1440, rng.uniform(0, DAYS, clicks_p.size - captured.sum())]
    order_p = np.r_[person, sends_p[caused]]
    order_t = np.r_[time, caused_t]
    keep = order_t < DAYS
    orders = pl.DataFrame(
        {
            "customer_key": pl.Series(order_p[keep]).cast(pl.String),
            "ordered_at": stamps(order_t[keep]),
            "amount": np.full(keep.sum(), 50.0),
        }
    )

    def touches(p, t, channel, campaign, kind):
        return pl.DataFrame(
            {
                "customer_key": pl.Series(p).cast(pl.String),
                "occurred_at": stamps(t),
                "channel": channel,
                "campaign": campaign,
                "kind": kind,
            }
        )

    all_touches = pl.concat(
        [
            touches(sends_p, sends_t, "email", "lift", "sent"),
            touches(ads_p, ads_t, "social", "none", "impression"),
            touches(clicks_p, clicks_t, "paid_search", "brand", "click"),
        ]
    )
    return {"orders": orders, "touches": all_touches, "caused": pl.DataFrame({"orders": [int(caused.sum())]})}


def service_world(n: int = 6000, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Customers who order every ~20 days and drop out after an order with probability 0.08; a quarter of
    orders get a ticket 1 day later, on "email" (after which dropout is 0.40) or "phone" (no change)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(4.0, 1 / (4.0 * 20.0), n)
    t = rng.uniform(0, 200, n)
    alive = np.ones(n, dtype=bool)
    order_p, order_t, ticket_p, ticket_t, ticket_c = [], [], [], [], []
    while alive.any():
        who = np.flatnonzero(alive)
        order_p.append(who)
        order_t.append(t[who])
        ticket = rng.random(who.size) < 0.25
        email = rng.random(who.size) < 0.5
        ticket_p.append(who[ticket])
        ticket_t.append(t[who[ticket]] + 1.0)
        ticket_c.append(np.where(email[ticket], "email", "phone"))
        dropout = np.where(ticket & email, 0.40, 0.08)
        alive[who[rng.random(who.size) < dropout]] = False
        t[who] += rng.exponential(1 / rate[who])
        alive &= t < DAYS
    orders = pl.DataFrame(
        {
            "customer_key": pl.Series(np.concatenate(order_p)).cast(pl.String),
            "ordered_at": stamps(np.concatenate(order_t)),
            "amount": rng.gamma(4.0, 20.0, sum(p.size for p in order_p)),
        }
    )
    tickets = pl.DataFrame(
        {
            "customer_key": pl.Series(np.concatenate(ticket_p)).cast(pl.String),
            "opened_at": stamps(np.concatenate(ticket_t)),
            "channel": np.concatenate(ticket_c),
        }
    ).filter(pl.col("opened_at") < stamps(np.array([DAYS]))[0])
    return {"orders": orders, "tickets": tickets}


def reachable_world(
    n: int = 6000, rate: float = 1 / 30, dropout: float = 0.15, seed: int = 0, kind: str = "impression"
) -> dict:
    """Customers who order at ``rate`` a day and drop out after an order with probability ``dropout``; an
    inert touchpoint (no effect at all) reaches them every 15 days on average, only while they are active:
    an ad ("display/inert", ``kind`` impression) as retargeting reaches people who still browse, or a search
    ad they click ("paid_search/inert", ``kind`` click) while they still shop."""
    rng = np.random.default_rng(seed)
    order_p, order_t, ads_p, ads_t = [], [], [], []
    for person in range(n):
        start = t = rng.uniform(0, 200)
        end = DAYS
        while t < DAYS:
            order_p.append(person)
            order_t.append(t)
            if rng.random() < dropout:
                end = t
                break
            t += rng.exponential(1 / rate)
        shown = rng.uniform(start, end, rng.poisson((end - start) / 15))
        ads_p.extend([person] * shown.size)
        ads_t.extend(shown.tolist())
    orders = pl.DataFrame(
        {
            "customer_key": pl.Series(order_p).cast(pl.String),
            "ordered_at": stamps(np.array(order_t)),
            "amount": np.full(len(order_p), 50.0),
        }
    )
    touches = pl.DataFrame(
        {
            "customer_key": pl.Series(ads_p, dtype=pl.Int64).cast(pl.String),
            "occurred_at": stamps(np.array(ads_t)),
            "channel": "display" if kind == "impression" else "paid_search",
            "campaign": "inert",
            "kind": kind,
        }
    )
    return {"orders": orders, "touches": touches}


def subscriber_world(n: int = 6000, rate: float = 1 / 30, dropout: float = 0.15, seed: int = 0) -> dict:
    """Customers who order at ``rate`` a day and drop out after an order with probability ``dropout``; a
    newsletter ("email/news") is sent every 15 days on average from the first order on, whether the customer
    still buys or not; a fifth of the sends are clicked up to 2 days later (opened late), alive or not; a
    click of a customer who still buys causes an order 0.1 to 2 days later with probability 0.3. ``caused``
    counts those orders."""
    rng = np.random.default_rng(seed)
    order_p, order_t, death = [], [], np.full(n, np.inf)
    start = rng.uniform(0, 200, n)
    for person in range(n):
        t = start[person]
        while t < DAYS:
            order_p.append(person)
            order_t.append(t)
            if rng.random() < dropout:
                death[person] = t
                break
            t += rng.exponential(1 / rate)
    sends_p = np.repeat(np.arange(n), rng.poisson((DAYS - start) / 15))
    sends_t = rng.uniform(start[sends_p], DAYS)
    clicked = rng.random(sends_p.size) < 0.2
    clicks_p, clicks_t = sends_p[clicked], sends_t[clicked] + rng.uniform(0.0, 2.0, clicked.sum())
    caused = (clicks_t <= death[clicks_p]) & (rng.random(clicks_p.size) < 0.3)
    caused_t = clicks_t[caused] + rng.uniform(0.1, 2.0, caused.sum())
    person, time = np.r_[np.array(order_p), clicks_p[caused]], np.r_[np.array(order_t), caused_t]
    keep = time < DAYS
    orders = pl.DataFrame(
        {
            "customer_key": pl.Series(person[keep]).cast(pl.String),
            "ordered_at": stamps(time[keep]),
            "amount": np.full(keep.sum(), 50.0),
        }
    )
    touches = pl.DataFrame(
        {
            "customer_key": pl.Series(np.r_[sends_p, clicks_p]).cast(pl.String),
            "occurred_at": stamps(np.r_[sends_t, clicks_t]),
            "channel": "email",
            "campaign": "news",
            "kind": ["sent"] * sends_p.size + ["click"] * clicks_p.size,
        }
    )
    return {"orders": orders, "touches": touches, "caused": int((caused_t < DAYS).sum())}
