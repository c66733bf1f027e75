"""The planted parameters of a synthetic project: every number the generator draws from.

All of them are written to ``truth/params.json`` so that a model's estimate can be
held against the value that really produced the data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

CONTACT_KINDS = ("sent", "impression", "click")
AUDIENCES = ("subscribers", "alive")
TOUCH_KINDS = ("sent", "open", "click", "impression")


@dataclass(frozen=True)
class Campaign:
    """One marketing campaign: whom it reaches, how often, what it truly does and what it costs.

    A *contact* is the campaign's first touch of a person (an email sent, an ad shown,
    an ad clicked). ``audience`` "subscribers" mails opted-in CRM customers whether they
    still buy or not; "alive" reaches customers only while they have not dropped out
    (``visitor_contacts_per_year`` adds anonymous visitors). ``incremental_order_prob``
    is the chance that a contact of a living customer causes an extra order;
    ``retention_effect`` the relative cut in the dropout probability at the next dropout
    decision when contacted within the retention window;
    ``captured_web_order_share`` the share of organic web orders preceded by a click of
    this campaign that did not cause them (brand search taking credit for demand).
    ``holdout_share`` (subscriber campaigns only) withholds that share of the people the
    campaign would contact, drawn at its first planned contact of each (`cxdata.synth.holdouts`).
    """

    channel: str
    campaign: str
    contact_kind: str
    audience: str
    contacts_per_year: float
    visitor_contacts_per_year: float = 0.0
    open_rate: float = 0.0
    click_rate: float = 0.0
    incremental_order_prob: float = 0.0
    retention_effect: float = 0.0
    captured_web_order_share: float = 0.0
    cost_per_contact: float = 0.0
    cost_per_click: float = 0.0
    utm_source: str = ""
    utm_medium: str = ""
    coupon_code: str | None = None
    holdout_share: float = 0.0


@dataclass(frozen=True)
class OrderChannel:
    """A sales channel: its share of orders and which identifiers its records carry."""

    name: str
    share: float
    email_share: float
    phone_share: float


@dataclass(frozen=True)
class TicketChannel:
    """A service channel: its share of tickets and its lognormal response and resolution times."""

    name: str
    share: float
    first_response_median_hours: float
    first_response_sigma: float
    resolution_median_hours: float
    resolution_sigma: float
    email_share: float
    phone_share: float


@dataclass(frozen=True)
class PhoneCountry:
    """A country's share of people and its mobile numbering plan (valid under libphonenumber)."""

    code: str
    share: float
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    national_digits: int
    trunk_prefix: str
    international_groups: tuple[int, ...]
    national_groups: tuple[int, ...]


DEFAULT_CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "email",
        "newsletter",
        "sent",
        "subscribers",
        4.0,
        open_rate=0.25,
        click_rate=0.15,
        incremental_order_prob=0.010,
        cost_per_contact=0.002,
        utm_source="newsletter",
        utm_medium="email",
        coupon_code="NEWS10",
    ),
    Campaign(
        "email",
        "winback",
        "sent",
        "subscribers",
        2.0,
        open_rate=0.30,
        click_rate=0.20,
        incremental_order_prob=0.015,
        retention_effect=0.40,
        cost_per_contact=0.003,
        utm_source="crm",
        utm_medium="email",
        coupon_code="COMEBACK15",
    ),
    Campaign(
        "paid_search",
        "brand",
        "click",
        "alive",
        0.30,
        incremental_order_prob=0.004,
        captured_web_order_share=0.15,
        cost_per_contact=0.35,
        utm_source="google",
        utm_medium="cpc",
    ),
    Campaign(
        "paid_search",
        "generic",
        "click",
        "alive",
        0.40,
        visitor_contacts_per_year=0.5,
        incremental_order_prob=0.025,
        cost_per_contact=0.80,
        utm_source="google",
        utm_medium="cpc",
    ),
    Campaign(
        "social",
        "prospecting",
        "impression",
        "alive",
        1.0,
        visitor_contacts_per_year=1.5,
        click_rate=0.02,
        incremental_order_prob=0.0001,
        cost_per_contact=0.008,
        utm_source="meta",
        utm_medium="paid_social",
    ),
    Campaign(
        "social",
        "retargeting",
        "impression",
        "alive",
        0.8,
        click_rate=0.03,
        incremental_order_prob=0.00014,
        cost_per_contact=0.010,
        utm_source="meta",
        utm_medium="paid_social",
    ),
    Campaign(
        "display",
        "retargeting",
        "impression",
        "alive",
        1.2,
        visitor_contacts_per_year=1.0,
        click_rate=0.005,
        incremental_order_prob=0.00005,
        cost_per_contact=0.004,
        utm_source="criteo",
        utm_medium="display",
    ),
    Campaign(
        "affiliate",
        "partners",
        "click",
        "alive",
        0.15,
        incremental_order_prob=0.0065,
        captured_web_order_share=0.03,
        cost_per_contact=0.20,
        utm_source="awin",
        utm_medium="affiliate",
        coupon_code="PARTNER5",
    ),
)

DEFAULT_ORDER_CHANNELS: tuple[OrderChannel, ...] = (
    OrderChannel("web", 0.50, email_share=1.0, phone_share=0.2),
    OrderChannel("store", 0.40, email_share=0.25, phone_share=0.1),
    OrderChannel("phone", 0.10, email_share=0.35, phone_share=1.0),
)

DEFAULT_TICKET_CHANNELS: tuple[TicketChannel, ...] = (
    TicketChannel("phone", 0.30, 0.05, 1.0, 0.5, 1.2, email_share=0.1, phone_share=0.95),
    TicketChannel("chat", 0.30, 0.15, 1.2, 2.0, 1.2, email_share=0.9, phone_share=0.05),
    TicketChannel("email", 0.40, 6.0, 1.1, 30.0, 1.0, email_share=0.95, phone_share=0.1),
)

DEFAULT_PHONE_COUNTRIES: tuple[PhoneCountry, ...] = (
    PhoneCountry("ES", 0.55, "34", ("6",), 9, "", (3, 2, 2, 2), (3, 3, 3)),
    PhoneCountry(
        "FR",
        0.15,
        "33",
        ("60", "61", "62", "64", "65", "66", "67", "68", "75", "76", "77"),
        9,
        "0",
        (1, 2, 2, 2, 2),
        (2, 2, 2, 2, 2),
    ),
    PhoneCountry(
        "DE",
        0.15,
        "49",
        ("151", "152", "157", "159", "170", "171", "172", "173", "175", "176", "177", "178", "179"),
        11,
        "0",
        (3, 8),
        (4, 8),
    ),
    PhoneCountry(
        "GB",
        0.15,
        "44",
        ("771", "772", "773", "774", "775", "776", "777", "790", "792", "794", "795"),
        10,
        "0",
        (4, 6),
        (5, 6),
    ),
)


@dataclass(frozen=True)
class SynthParams:
    """Every planted parameter of a synthetic project; the defaults give about 7 orders a person.

    Times are in days. Rates ``*_per_year`` are per person-year. Purchases follow a
    BG/NBD-like process: rate ``lambda ~ Gamma(purchase_r, rate=purchase_alpha)`` per
    day, dropout ``p ~ Beta(dropout_a, dropout_b)`` after each purchase (also the
    first one when ``dropout_after_first_order``). Spend is Gamma-Gamma in the
    lifetimes parameterisation: ``nu ~ Gamma(spend_q, rate=spend_gamma)`` per person,
    each amount ``~ Gamma(spend_p, rate=nu)``, so the mean spend is
    ``spend_p * spend_gamma / (spend_q - 1)``.
    """

    customers: int = 2000
    seed: int = 0
    as_of: date = date(2026, 6, 30)
    timezone: str = "Europe/Madrid"
    history_days: int = 900
    horizon_days: int = 365
    name: str = "synthetic"
    # purchases and spend
    purchase_r: float = 1.0
    purchase_alpha: float = 35.0
    dropout_a: float = 1.3
    dropout_b: float = 12.0
    dropout_after_first_order: bool = True
    spend_p: float = 6.0
    spend_q: float = 4.0
    spend_gamma: float = 30.0
    currency: str = "EUR"
    order_channels: tuple[OrderChannel, ...] = DEFAULT_ORDER_CHANNELS
    primary_channel_loyalty: float = 0.7
    guest_only_person_share: float = 0.05
    guest_order_share: float = 0.05
    refund_share: float = 0.02
    welcome_coupon_share: float = 0.2
    stores: int = 40
    # service
    ticket_prob: float = 0.12
    ticket_channels: tuple[TicketChannel, ...] = DEFAULT_TICKET_CHANNELS
    ticket_delay_median_days: float = 2.0
    ticket_ref_share: float = 0.85
    sla_hours: float = 24.0
    csat_base: float = 4.6
    csat_slope: float = 0.45
    csat_noise_sd: float = 0.9
    bad_csat_max: int = 2
    bad_service_dropout_factor: float = 2.5
    csat_response_rate: float = 0.35
    ces_response_rate: float = 0.15
    nps_per_year: float = 0.3
    # marketing
    campaigns: tuple[Campaign, ...] = DEFAULT_CAMPAIGNS
    subscribed_share: float = 0.6
    # consent per CRM record: email consent is the subscription; sms and ads drawn with these shares; a record
    # without any statement (all null) with consent_missing_share; stated at a time between creation and cutoff
    sms_consent_share: float = 0.35
    ads_consent_share: float = 0.5
    consent_missing_share: float = 0.1
    dead_open_factor: float = 0.3
    retention_window_days: float = 45.0
    in_session_order_share: float = 0.5
    caused_order_max_delay_days: float = 3.0
    email_touch_ref_share: float = 0.8
    cost_noise_sd: float = 0.05
    roi_hurdle: float = 1.0
    roi_band: float = 0.25
    experiment_response_days: float = 14.0  # the window after assignment of truth/experiments.csv
    # web
    device_weights: tuple[float, ...] = (0.5, 0.35, 0.15)
    web_consent_share: float = 0.42
    first_device_login_prob: float = 0.8
    other_device_login_prob: float = 0.35
    login_per_session: float = 0.5
    login_by_ref_share: float = 0.7
    form_submit_per_session: float = 0.3
    browse_sessions_per_year: float = 0.8
    extra_page_views_mean: float = 0.5
    anonymous_visitor_share: float = 0.3
    anonymous_sessions_mean: float = 2.0
    anonymous_visit_days: float = 120.0
    products: int = 500
    # identifiers
    email_case_noise_share: float = 0.08
    email_whitespace_share: float = 0.04
    email_change_share: float = 0.05
    crm_duplicate_share: float = 0.02
    household_phone_share: float = 0.03
    placeholder_share: float = 0.02
    phone_countries: tuple[PhoneCountry, ...] = DEFAULT_PHONE_COUNTRIES
    phone_format_weights: tuple[float, ...] = (0.4, 0.25, 0.25, 0.1)
    email_placeholders: tuple[str, ...] = ("test@test.com", "n/a", "")
    phone_placeholders: tuple[str, ...] = ("0000000000", "-1", "n/a", "")

    def __post_init__(self) -> None:
        problems = []
        if self.customers < 1:
            problems.append(f"customers must be at least 1, got {self.customers}")
        if self.history_days < 1 or self.horizon_days < 0:
            problems.append("history_days must be >= 1 and horizon_days >= 0")
        if self.spend_q <= 1:
            problems.append(f"spend_q must exceed 1 for a finite mean spend, got {self.spend_q}")
        for c in self.campaigns:
            if c.contact_kind not in CONTACT_KINDS or c.audience not in AUDIENCES:
                problems.append(f"campaign {c.channel}/{c.campaign}: kind must be one of {CONTACT_KINDS}")
        for c in self.campaigns:
            if not 0 <= c.holdout_share < 1 or (c.holdout_share > 0 and c.audience != "subscribers"):
                problems.append(
                    f"campaign {c.channel}/{c.campaign}: holdout_share must be in [0, 1), and above 0 only "
                    "for a campaign that mails subscribers"
                )
        if self.experiment_response_days <= 0:
            problems.append(f"experiment_response_days must be positive, got {self.experiment_response_days}")
        if sum(c.captured_web_order_share for c in self.campaigns) > 1:
            problems.append("captured_web_order_share of all campaigns must add up to at most 1")
        try:
            ZoneInfo(self.timezone)
        except Exception:
            problems.append(f"timezone {self.timezone!r} is not an IANA time zone")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (dates as ISO strings, tuples as lists)."""
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return out

    def mean_spend(self) -> float:
        """The planted population mean of an order amount, ``p * gamma / (q - 1)``."""
        return self.spend_p * self.spend_gamma / (self.spend_q - 1)


def recommendation(roi: np.ndarray, hurdle: float, band: float) -> np.ndarray:
    """invest above ``hurdle + band``, cut below ``hurdle - band``, hold in between."""
    roi = np.asarray(roi, dtype=np.float64)
    return np.where(roi > hurdle + band, "invest", np.where(roi < hurdle - band, "cut", "hold"))
