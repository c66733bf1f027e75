"""The purchase process: organic orders with dropout, then the full order log with spend and tags.

Organic orders are simulated step by step, one purchase per step, vectorised over
the people still alive. At each step the dropout decision sees that order's service
experience (a bad ticket multiplies the dropout probability) and recent retention
contacts (which divide it). One uniform per decision is shared by the factual and the
counterfactual outcome, so a dropout that a contact prevented is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxdata.synth.marketing import CausedOrders, RetentionIndex
from cxdata.synth.params import SynthParams
from cxdata.synth.people import People
from cxdata.synth.service import TicketDraws, draw_tickets
from cxdata.synth.timeline import Timeline

FIRST_ORDER_NUMBER = 100_000_001


@dataclass
class Organic:
    """Organic orders in simulation order, and the tickets drawn on them."""

    person: np.ndarray
    time: np.ndarray
    ordinal: np.ndarray
    tickets: TicketDraws  # tickets.order indexes these orders


@dataclass
class Fate:
    """Each person's dropout and first save."""

    death: np.ndarray  # time of the order after which the person dropped out; inf if never
    save_time: np.ndarray  # first dropout a retention contact prevented; inf if none
    save_campaign: np.ndarray


@dataclass
class Orders:
    """Every order, history and future; organic orders first, then touch-caused ones.

    ``cause_touch`` indexes the click in the simulation's touches (data window only), -1 if none.
    """

    person: np.ndarray
    time: np.ndarray
    organic: np.ndarray
    caused_campaign: np.ndarray  # -1 unless a touch caused this order
    cause_touch: np.ndarray  # the click touch behind a caused order, else -1
    in_session: np.ndarray  # caused and placed in the session of that click
    saved_campaign: np.ndarray  # -1 unless placed after a dropout a campaign prevented
    channel: np.ndarray
    amount: np.ndarray
    refunded: np.ndarray
    coupon: np.ndarray  # index into Orders.coupon_codes, -1 for none
    coupon_codes: list[str]
    number: np.ndarray  # order number in data/ (by time), -1 for future orders

    @property
    def size(self) -> int:
        return self.person.size

    def in_number_order(self) -> np.ndarray:
        """Indexes of the orders in data/, by order number."""
        numbered = np.flatnonzero(self.number >= 0)
        out = np.empty(numbered.size, dtype=np.int64)
        out[self.number[numbered] - FIRST_ORDER_NUMBER] = numbered
        return out


def simulate_purchases(
    people: People,
    params: SynthParams,
    timeline: Timeline,
    retention: RetentionIndex,
    rngs: list[np.random.Generator],
) -> tuple[Organic, Fate]:
    """Run the organic purchase/dropout process from each acquisition to the end of the horizon."""
    gap_rng, drop_rng, ticket_rng = rngs
    n = people.n
    death = np.full(n, np.inf)
    save_time = np.full(n, np.inf)
    save_campaign = np.full(n, -1, dtype=np.int8)
    persons, times, ordinals, draws = [], [], [], []
    idx = np.arange(n, dtype=np.int32)
    t = people.acquired.copy()
    step, offset = 0, 0
    while idx.size:
        persons.append(idx)
        times.append(t)
        ordinals.append(np.full(idx.size, step, dtype=np.int32))
        tickets = draw_tickets(ticket_rng, idx.size, params)
        draws.append(tickets.shifted(offset))
        offset += idx.size

        u = drop_rng.random(idx.size)
        dropped = np.zeros(idx.size, dtype=bool)
        if params.dropout_after_first_order or step > 0:
            bad = np.zeros(idx.size, dtype=bool)
            bad[tickets.order[tickets.bad]] = True
            p = np.minimum(1.0, people.dropout_p[idx] * np.where(bad, params.bad_service_dropout_factor, 1.0))
            multiplier, campaign = retention.lookup(idx, t)
            dropped = u < p * multiplier
            saved = ~dropped & (u < p) & np.isinf(save_time[idx])
            save_time[idx[saved]] = t[saved]
            save_campaign[idx[saved]] = campaign[saved]
            death[idx[dropped]] = t[dropped]

        t_next = t + gap_rng.exponential(1.0, idx.size) / people.lam[idx]
        keep = ~dropped & (t_next < timeline.end)
        idx, t = idx[keep], t_next[keep]
        step += 1
    organic = Organic(
        np.concatenate(persons), np.concatenate(times), np.concatenate(ordinals), TicketDraws.concat(draws)
    )
    return organic, Fate(death, save_time, save_campaign)


def assemble_orders(
    people: People,
    organic: Organic,
    fate: Fate,
    caused: CausedOrders,
    params: SynthParams,
    timeline: Timeline,
    rng: np.random.Generator,
) -> Orders:
    """Join organic and touch-caused orders and give each its channel, amount, status and tags."""
    n_org, n_caused = organic.person.size, caused.person.size
    person = np.concatenate([organic.person, caused.person.astype(np.int32)])
    time = np.concatenate([organic.time, caused.time])
    is_organic = np.r_[np.ones(n_org, bool), np.zeros(n_caused, bool)]
    first = np.r_[organic.ordinal == 0, np.zeros(n_caused, bool)]
    caused_campaign = np.r_[np.full(n_org, -1, np.int8), caused.campaign.astype(np.int8)]

    n = person.size
    u = rng.random((4, n), dtype=np.float32)
    shares = np.array([c.share for c in params.order_channels])
    drawn = np.searchsorted(np.cumsum(shares / shares.sum()), u[0], side="right")
    loyal = u[1] < params.primary_channel_loyalty
    channel = np.where(loyal, people.primary_channel[person], np.minimum(drawn, shares.size - 1)).astype(np.int8)
    web = next((i for i, c in enumerate(params.order_channels) if c.name == "web"), 0)
    channel[n_org:] = web  # a touch-caused order follows the click onto the web shop

    amount = np.round(rng.standard_gamma(params.spend_p, n) / people.nu[person], 2)
    amount = np.maximum(amount, 0.01)
    saved_campaign = np.where(time > fate.save_time[person], fate.save_campaign[person], -1)

    coupon_codes = ["WELCOME10", *sorted({c.coupon_code for c in params.campaigns if c.coupon_code})]
    campaign_coupon = np.array(
        [coupon_codes.index(c.coupon_code) if c.coupon_code else -1 for c in params.campaigns] + [-1],
        dtype=np.int8,
    )
    coupon = np.where(u[2] < 0.6, campaign_coupon[caused_campaign], -1).astype(np.int8)
    coupon[first & (u[3] < params.welcome_coupon_share)] = 0

    number = np.full(person.size, -1, dtype=np.int64)
    in_data = np.flatnonzero(time < timeline.cutoff)
    number[in_data[timeline.chronological(time[in_data])]] = FIRST_ORDER_NUMBER + np.arange(in_data.size)
    return Orders(
        person=person,
        time=time,
        organic=is_organic,
        caused_campaign=caused_campaign,
        cause_touch=np.r_[np.full(n_org, -1, np.int32), caused.touch.astype(np.int32)],
        in_session=np.r_[np.zeros(n_org, bool), caused.in_session],
        saved_campaign=saved_campaign.astype(np.int8),
        channel=channel,
        amount=amount,
        refunded=rng.random(n, dtype=np.float32) < params.refund_share,
        coupon=coupon,
        coupon_codes=coupon_codes,
        number=number,
    )
