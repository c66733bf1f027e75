"""People: their latent buying parameters, names, CRM records, emails, phones and devices.

Everything here is per person (or per device); the per-record noise that the
source systems add is applied in ``identifiers``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.synth import names as nm
from cxdata.synth.params import PhoneCountry, SynthParams
from cxdata.synth.timeline import Timeline

FIRST_CUSTOMER_NUMBER = 100_001


@dataclass
class People:
    """The simulated buyers; index ``i`` is ``person_id`` ``i``."""

    n: int
    acquired: np.ndarray
    lam: np.ndarray
    dropout_p: np.ndarray
    nu: np.ndarray
    country: np.ndarray
    first: np.ndarray
    last: np.ndarray
    has_crm: np.ndarray
    crm_ref: np.ndarray
    crm_created: np.ndarray
    dup_ref: np.ndarray
    dup_created: np.ndarray
    email_change_at: np.ndarray
    subscribed: np.ndarray
    primary_channel: np.ndarray
    home_store: np.ndarray
    phone_country: np.ndarray
    ref_strings: pl.Series  # CRM ids by customer number - FIRST_CUSTOMER_NUMBER
    emails: pl.Series  # lowercase addresses: n first ones, then changed ones, then CRM duplicates'
    changed_email: np.ndarray  # index into emails of the person's new address, -1 if unchanged
    duplicate_email: np.ndarray  # index into emails of the CRM duplicate's address, -1 if none
    phones: pl.Series  # 4n renderings: E.164, spaced international, national, 00-prefixed
    postcodes: pl.Series
    first_names: pl.Series
    last_names: pl.Series
    n_devices: np.ndarray
    device_start: np.ndarray
    device_person: np.ndarray
    device_tracked: np.ndarray
    device_logs_in: np.ndarray
    device_first_seen: np.ndarray
    device_key: tuple[int, int]

    def random_device(self, person: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A device of each person, chosen by the uniform ``u``."""
        return self.device_start[person] + (u * self.n_devices[person]).astype(np.int64)


def make_people(params: SynthParams, timeline: Timeline, rng: np.random.Generator) -> People:
    """Draw ``params.customers`` people with their latent parameters and identifiers."""
    n = params.customers
    acquired = rng.uniform(0.0, timeline.cutoff, n)
    lam = rng.gamma(params.purchase_r, 1.0 / params.purchase_alpha, n)
    dropout_p = rng.beta(params.dropout_a, params.dropout_b, n)
    nu = rng.gamma(params.spend_q, 1.0 / params.spend_gamma, n)

    countries = params.phone_countries
    country = _choice(rng, np.array([c.share for c in countries]), n).astype(np.int8)
    table = nm.name_table(tuple(c.code for c in countries))
    first = _pick_within(rng, country, np.asarray(table["first_country"]))
    last = _pick_within(rng, country, np.asarray(table["last_country"]))

    has_crm = rng.random(n) >= params.guest_only_person_share
    crm_created = acquired - rng.uniform(0.0, 1.0 / 12, n) * has_crm
    crm_created = np.maximum(crm_created, 0.0)
    has_dup = has_crm & (rng.random(n) < params.crm_duplicate_share)
    dup_created = np.where(has_dup, rng.uniform(acquired, timeline.cutoff), np.inf)
    crm_ref, dup_ref = _customer_numbers(has_crm, crm_created, has_dup, dup_created)

    change = rng.random(n) < params.email_change_share
    email_change_at = np.where(change, rng.uniform(acquired, timeline.end), np.inf)
    emails, changed_email, duplicate_email = _emails(rng, table, first, last, change, has_dup)

    phone_country = country.copy()
    nsn = _phone_numbers(rng, countries, country)
    pairs = _household_pairs(rng, params.household_phone_share, country)
    nsn[pairs[:, 1]] = nsn[pairs[:, 0]]
    phone_country[pairs[:, 1]] = phone_country[pairs[:, 0]]
    phones = _render_phones(countries, phone_country, nsn)

    n_devices = 1 + _choice(rng, np.asarray(params.device_weights), n)
    device_start = np.concatenate([[0], np.cumsum(n_devices)[:-1]]).astype(np.int64)
    device_person = np.repeat(np.arange(n, dtype=np.int64), n_devices)
    first_device = np.zeros(device_person.size, dtype=bool)
    first_device[device_start] = True
    login_prob = np.where(first_device, params.first_device_login_prob, params.other_device_login_prob)
    device_first_seen = acquired[device_person] - rng.exponential(30.0, device_person.size)

    return People(
        n=n,
        acquired=acquired,
        lam=lam,
        dropout_p=dropout_p,
        nu=nu,
        country=country,
        first=first,
        last=last,
        has_crm=has_crm,
        crm_ref=crm_ref,
        crm_created=crm_created,
        dup_ref=dup_ref,
        dup_created=dup_created,
        email_change_at=email_change_at,
        subscribed=has_crm & (rng.random(n) < params.subscribed_share),
        primary_channel=_choice(rng, np.array([c.share for c in params.order_channels]), n).astype(np.int8),
        home_store=rng.integers(1, params.stores + 1, n),
        phone_country=phone_country,
        ref_strings=_ref_strings(int(has_crm.sum() + has_dup.sum())),
        emails=emails,
        changed_email=changed_email,
        duplicate_email=duplicate_email,
        phones=phones,
        postcodes=_postcodes(rng, countries, country),
        first_names=pl.Series("first_name", table["first"]).gather(first),
        last_names=pl.Series("last_name", table["last"]).gather(last),
        n_devices=n_devices,
        device_start=device_start,
        device_person=device_person,
        device_tracked=rng.random(device_person.size) < params.web_consent_share,
        device_logs_in=rng.random(device_person.size) < login_prob,
        device_first_seen=device_first_seen,
        device_key=_affine_key(rng, 10**9),
    )


def anonymous_ids(devices: np.ndarray, first_seen_us: np.ndarray, key: tuple[int, int]) -> pl.Series:
    """Cookie ids like ``1234567890.1717171717`` (GA style), unique per device index."""
    a, b = key
    number = (a * devices.astype(np.int64) + b) % 10**9 + 10**9
    frame = pl.DataFrame({"n": number, "s": first_seen_us // 1_000_000})
    return (
        frame.select(pl.concat_str([pl.col("n"), pl.col("s")], separator=".").alias("anonymous_id"))
        .to_series()
        .rechunk()
    )


def _choice(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _pick_within(rng: np.random.Generator, group: np.ndarray, item_group: np.ndarray) -> np.ndarray:
    """For each row, a uniform index among the items of its group (items sorted by group)."""
    starts = np.searchsorted(item_group, np.arange(item_group.max() + 1), side="left")
    counts = np.bincount(item_group, minlength=item_group.max() + 1)
    return starts[group] + (rng.random(group.size) * counts[group]).astype(np.int64)


def _affine_key(rng: np.random.Generator, modulus: int) -> tuple[int, int]:
    # a multiplier coprime to 10^k makes i -> (a*i + b) mod 10^k a bijection: unique, scrambled numbers
    a = int(rng.integers(modulus // 10, modulus)) | 1
    if a % 5 == 0:
        a += 2
    return a, int(rng.integers(0, modulus))


def _customer_numbers(
    has_crm: np.ndarray, created: np.ndarray, has_dup: np.ndarray, dup_created: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    # CRM numbers count up in creation order, duplicates included, as a real CRM's do
    who = np.concatenate([np.flatnonzero(has_crm), np.flatnonzero(has_dup)])
    when = np.concatenate([created[has_crm], dup_created[has_dup]])
    is_dup = np.concatenate([np.zeros(has_crm.sum(), bool), np.ones(has_dup.sum(), bool)])
    order = np.argsort(when, kind="stable")
    number = np.empty(who.size, dtype=np.int64)
    number[order] = FIRST_CUSTOMER_NUMBER + np.arange(who.size)
    crm_ref = np.full(has_crm.size, -1, dtype=np.int64)
    dup_ref = np.full(has_crm.size, -1, dtype=np.int64)
    crm_ref[who[~is_dup]] = number[~is_dup]
    dup_ref[who[is_dup]] = number[is_dup]
    return crm_ref, dup_ref


def _ref_strings(count: int) -> pl.Series:
    frame = pl.DataFrame({"n": np.arange(FIRST_CUSTOMER_NUMBER, FIRST_CUSTOMER_NUMBER + max(count, 1))})
    return (
        frame.select(pl.concat_str([pl.lit("C"), pl.col("n").cast(pl.String).str.zfill(7)])).to_series().rechunk()
    )


def _rank_in_group(rng: np.random.Generator, key: np.ndarray) -> np.ndarray:
    """Each row's rank among the rows with its key, in random order."""
    n = key.size
    shuffled = rng.permutation(n)
    bits = max(n.bit_length(), 1)
    # sorting packed (key, shuffled position) values is much faster than an argsort
    packed = np.sort((key[shuffled].astype(np.int64) << bits) | np.arange(n, dtype=np.int64))
    order = shuffled[packed & ((1 << bits) - 1)]
    sorted_key = packed >> bits
    starts = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    first_pos = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first_pos
    return rank


def _emails(
    rng: np.random.Generator,
    table: dict[str, list],
    first: np.ndarray,
    last: np.ndarray,
    change: np.ndarray,
    has_dup: np.ndarray,
) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    n = first.size
    _, first_slug_id = np.unique(np.asarray(table["first_slug"]), return_inverse=True)
    _, last_slug_id = np.unique(np.asarray(table["last_slug"]), return_inverse=True)
    name_key = first_slug_id[first].astype(np.int64) * 1000 + last_slug_id[last]
    weights = np.asarray(nm.EMAIL_DOMAIN_WEIGHTS)
    domain = np.minimum(
        np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n), side="right"), weights.size - 1
    )
    # rank*100 + noise keeps numbers unique within a name and domain while looking like 42 or 137
    number = _rank_in_group(rng, name_key * 10 + domain) * 100 + rng.integers(0, 100, n)
    changers = np.flatnonzero(change)
    changed_domain = rng.integers(0, len(nm.CHANGED_EMAIL_DOMAINS), changers.size)
    changed_number = _rank_in_group(rng, name_key[changers] * 10 + changed_domain) * 100 + rng.integers(
        0, 100, changers.size
    )
    dups = np.flatnonzero(has_dup)
    first_slug, last_slug = pl.Series(table["first_slug"]), pl.Series(table["last_slug"])

    def build(who: np.ndarray, numbers: np.ndarray, domains: pl.Series, tag: pl.Series | None = None) -> pl.Series:
        frame = pl.DataFrame(
            {
                "first": first_slug.gather(first[who]),
                "last": last_slug.gather(last[who]),
                "number": numbers,
                "tag": tag if tag is not None else pl.repeat("", who.size, eager=True),
                "domain": domains,
            }
        )
        parts = [
            pl.col("first"),
            pl.lit("."),
            pl.col("last"),
            pl.col("number"),
            pl.col("tag"),
            pl.lit("@"),
            pl.col("domain"),
        ]
        return frame.select(pl.concat_str(parts).alias("email")).to_series()

    tags = pl.Series(nm.DUPLICATE_EMAIL_TAGS).gather(rng.integers(0, len(nm.DUPLICATE_EMAIL_TAGS), dups.size))
    emails = pl.concat(
        [
            build(np.arange(n), number, pl.Series(nm.EMAIL_DOMAINS).gather(domain)),
            build(changers, changed_number, pl.Series(nm.CHANGED_EMAIL_DOMAINS).gather(changed_domain)),
            build(dups, number[dups], pl.Series(nm.EMAIL_DOMAINS).gather(domain[dups]), tags),
        ]
    )
    changed_email = np.full(n, -1, dtype=np.int64)
    changed_email[changers] = n + np.arange(changers.size)
    duplicate_email = np.full(n, -1, dtype=np.int64)
    duplicate_email[dups] = n + changers.size + np.arange(dups.size)
    # one contiguous chunk: gathering from a chunked series is many times slower
    return emails.rechunk(), changed_email, duplicate_email


def _phone_numbers(
    rng: np.random.Generator, countries: tuple[PhoneCountry, ...], country: np.ndarray
) -> np.ndarray:
    """National significant numbers, unique within each country."""
    nsn = np.zeros(country.size, dtype=np.int64)
    for ci, spec in enumerate(countries):
        idx = np.flatnonzero(country == ci)
        prefixes = np.array([int(p) for p in spec.mobile_prefixes], dtype=np.int64)
        widths = np.array([spec.national_digits - len(p) for p in spec.mobile_prefixes], dtype=np.int64)
        pick = rng.integers(0, prefixes.size, idx.size)
        width = widths[pick]
        modulus = 10 ** widths.min()
        a, b = _affine_key(rng, int(modulus))
        rest = (a * np.arange(idx.size, dtype=np.int64) + b) % modulus
        nsn[idx] = prefixes[pick] * 10**width + rest
    return nsn


def _household_pairs(rng: np.random.Generator, share: float, country: np.ndarray) -> np.ndarray:
    n_pairs = round(share * country.size / 2)
    chosen = rng.choice(country.size, size=2 * n_pairs, replace=False)
    # pair neighbours after sorting by country so a household shares one country's number
    chosen = chosen[np.lexsort((rng.random(chosen.size), country[chosen]))]
    return chosen.reshape(-1, 2)


def _grouped(text: pl.Expr, groups: tuple[int, ...]) -> pl.Expr:
    starts = np.concatenate([[0], np.cumsum(groups)[:-1]])
    return pl.concat_str([text.str.slice(int(s), g) for s, g in zip(starts, groups, strict=True)], separator=" ")


def _render_phones(countries: tuple[PhoneCountry, ...], phone_country: np.ndarray, nsn: np.ndarray) -> pl.Series:
    """Every person's number in four formats, stacked: E.164, spaced international, national, 00-prefixed."""
    order = np.argsort(phone_country, kind="stable")
    bounds = np.searchsorted(phone_country[order], np.arange(len(countries) + 1))
    parts = []
    for ci, spec in enumerate(countries):
        who = order[bounds[ci] : bounds[ci + 1]]
        frame = pl.DataFrame({"nsn": nsn[who]}).with_columns(pl.col("nsn").cast(pl.String))
        nsn_text = pl.col("nsn")
        parts.append(
            frame.select(
                pl.concat_str([pl.lit(f"+{spec.calling_code}"), nsn_text]).alias("e164"),
                pl.concat_str(
                    [pl.lit(f"+{spec.calling_code} "), _grouped(nsn_text, spec.international_groups)]
                ).alias("spaced"),
                _grouped(pl.lit(spec.trunk_prefix) + nsn_text, spec.national_groups).alias("national"),
                pl.concat_str([pl.lit(f"00{spec.calling_code}"), nsn_text]).alias("zeros"),
            )
        )
    stacked = pl.concat(parts).rechunk()
    inverse = np.empty(nsn.size, dtype=np.int64)
    inverse[order] = np.arange(nsn.size)
    return pl.concat([stacked[c].gather(inverse) for c in stacked.columns]).alias("phone").rechunk()


def _postcodes(rng: np.random.Generator, countries: tuple[PhoneCountry, ...], country: np.ndarray) -> pl.Series:
    n = country.size
    code = np.array([c.code for c in countries])[country]
    numeric = np.select(
        [code == "ES", code == "FR"],
        [
            rng.integers(1, 53, n) * 1000 + rng.integers(0, 1000, n),
            rng.integers(1, 96, n) * 1000 + rng.integers(0, 1000, n),
        ],
        rng.integers(1067, 99999, n),
    )
    postcodes = pl.Series("postcode", numeric).cast(pl.String).str.zfill(5)
    gb = np.flatnonzero(code == "GB")
    letters = pl.Series(list(nm.GB_INWARD_LETTERS))
    parts = pl.DataFrame(
        {
            "outward": pl.Series(nm.GB_OUTWARD).gather(rng.integers(0, len(nm.GB_OUTWARD), gb.size)),
            "digit": rng.integers(0, 10, gb.size),
            "l1": letters.gather(rng.integers(0, letters.len(), gb.size)),
            "l2": letters.gather(rng.integers(0, letters.len(), gb.size)),
        }
    )
    british = parts.select(pl.concat_str(["outward", pl.lit(" "), "digit", "l1", "l2"])).to_series()
    return postcodes.scatter(gb, british) if gb.size else postcodes
