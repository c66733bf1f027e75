"""Run every stage of the simulation in memory, each from its own child of the seed."""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.synth.holdouts import Assignments, draw_groups, withhold
from cxdata.synth.marketing import (
    Contacts,
    RetentionIndex,
    Touches,
    captured_clicks,
    plan_contacts,
    realise_contacts,
)
from cxdata.synth.params import SynthParams
from cxdata.synth.people import People, anonymous_ids, make_people
from cxdata.synth.purchases import Fate, Orders, assemble_orders, simulate_purchases
from cxdata.synth.service import Surveys, Tickets, build_surveys, build_tickets, draw_tickets
from cxdata.synth.timeline import Timeline
from cxdata.synth.web import Visitors, WebEvents, simulate_web

Progress = Callable[[str], None]


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc only): the step-wise stages leave many holes."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# a new stage goes last: SeedSequence children are numbered, so the earlier stages keep their streams
STAGES = ("people", "contacts", "gaps", "dropout", "tickets", "orders", "service", "web", "noise", "holdout")


@dataclass
class Simulation:
    """Everything simulated, before it is rendered into source files."""

    params: SynthParams
    timeline: Timeline
    people: People
    fate: Fate
    orders: Orders
    tickets: Tickets
    surveys: Surveys
    touches: Touches  # in the data window: customers' contacts, opens, clicks; captured clicks; visitors'
    events: WebEvents
    visitors: Visitors
    device_ids: pl.Series  # cookie id of every device: customers' devices, then one per visitor
    noise_seed: np.random.SeedSequence
    assignments: Assignments  # holdout campaigns' groups, from each person's first planned contact

    @property
    def n_persons(self) -> int:
        return self.people.n + self.visitors.n


def simulate(params: SynthParams | None = None, progress: Progress | None = None) -> Simulation:
    """Simulate people, purchases, service, marketing and web for ``params`` (defaults if None)."""
    params = params or SynthParams()
    say = progress or (lambda _message: None)
    seeds = dict(zip(STAGES, np.random.SeedSequence(params.seed).spawn(len(STAGES)), strict=True))
    rng = {name: np.random.default_rng(seed) for name, seed in seeds.items()}
    timeline = Timeline.of(params)

    say(f"simulating {params.customers:,} people")
    people = make_people(params, timeline, rng["people"])
    control = draw_groups(people.n, params, rng["holdout"])
    retention_contacts, assigned_early = withhold(
        plan_contacts(people, params, timeline, rng["contacts"], retention=True), control
    )
    retention = RetentionIndex(retention_contacts, params, timeline, people.n)

    say("simulating purchases and dropout")
    organic, fate = simulate_purchases(
        people, params, timeline, retention, [rng["gaps"], rng["dropout"], rng["tickets"]]
    )
    del retention
    others, assigned_late = withhold(
        plan_contacts(people, params, timeline, rng["contacts"], False, fate.death), control
    )
    contacts = Contacts.concat([retention_contacts, others])
    del others, retention_contacts
    touches, caused = realise_contacts(contacts, people, fate.death, params, timeline, rng["contacts"])
    del contacts
    orders = assemble_orders(people, organic, fate, caused, params, timeline, rng["orders"])
    n_organic = organic.person.size
    touches.session_order[caused.touch[caused.in_session]] = n_organic + np.flatnonzero(caused.in_session)
    # later touches only mattered for the orders they caused; data/ and the truth need the window only
    touches, new_index = touches.subset(touches.time < timeline.cutoff)
    caused_rows = orders.cause_touch >= 0
    orders.cause_touch[caused_rows] = new_index[orders.cause_touch[caused_rows]]

    web_channel = next((i for i, c in enumerate(params.order_channels) if c.name == "web"), 0)
    organic_web = np.flatnonzero(
        orders.organic & (orders.channel == web_channel) & (orders.time < timeline.cutoff)
    )
    extra, which = captured_clicks(
        orders.person[organic_web], orders.time[organic_web], people, params, rng["orders"]
    )
    captured = np.column_stack([touches.size + np.arange(which.size), organic_web[which]])
    touches = Touches.concat([touches, extra])

    release_memory()
    say("simulating service tickets and surveys")
    caused_draws = draw_tickets(rng["service"], caused.person.size, params)
    tickets = build_tickets(
        organic.tickets,
        caused_draws,
        n_organic,
        orders.person,
        orders.time,
        people.has_crm,
        params,
        rng["service"],
    )
    del organic
    alive_end = np.minimum(fate.death, timeline.end)
    surveys = build_surveys(
        tickets, people.acquired, alive_end, people.dropout_p, people.has_crm, params, timeline, rng["service"]
    )

    release_memory()
    say("simulating web sessions")
    events, visitors, visitor_touches = simulate_web(
        people, orders, captured, touches, fate.death, params, timeline, rng["web"]
    )
    touches = Touches.concat([touches, visitor_touches])
    first_seen = np.r_[people.device_first_seen, visitors.start]
    devices = np.arange(first_seen.size, dtype=np.int64)
    device_ids = anonymous_ids(devices, timeline.to_us(first_seen), people.device_key)
    release_memory()
    return Simulation(
        params=params,
        timeline=timeline,
        people=people,
        fate=fate,
        orders=orders,
        tickets=tickets,
        surveys=surveys,
        touches=touches,
        events=events,
        visitors=visitors,
        device_ids=device_ids,
        noise_seed=seeds["noise"],
        assignments=Assignments.concat([assigned_early, assigned_late]),
    )
