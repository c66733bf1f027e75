"""People and their identifiers as the sources show them: noise, placeholders, households, duplicates."""

from __future__ import annotations

import math

import phonenumbers
import polars as pl

REGIONS = ("ES", "FR", "DE", "GB")


def _binomial_slack(p: float, n: int, z: float = 4.0) -> float:
    return z * math.sqrt(p * (1 - p) / n) + 1.0 / n


def _placeholder(column: str, values: list[str]) -> pl.Expr:
    return pl.col(column).is_null() | pl.col(column).is_in(values)


def test_every_crm_record_carries_an_email_and_a_phone_or_a_planted_placeholder(project):
    params, customers = project.params, project.customers
    for column, values in (("email", params["email_placeholders"]), ("mobile", params["phone_placeholders"])):
        share = customers.select(_placeholder(column, values).mean()).item()
        assert abs(share - params["placeholder_share"]) < _binomial_slack(
            params["placeholder_share"], len(customers)
        )
    assert customers.filter(pl.col("email") == "test@test.com").height > 0
    assert customers.filter(pl.col("mobile") == "0000000000").height > 0


def test_share_of_noisy_emails_matches_the_planted_case_and_whitespace_noise(project):
    params = project.params
    emails = pl.concat([project.customers["email"], project.orders["email_address"]]).drop_nulls()
    emails = emails.filter(~emails.is_in(params["email_placeholders"]))
    noisy = (emails != emails.str.strip_chars().str.to_lowercase()).mean()
    planted = 1 - (1 - params["email_case_noise_share"]) * (1 - params["email_whitespace_share"])
    assert abs(noisy - planted) < _binomial_slack(planted, len(emails))
    assert emails.str.contains(r"^\s").any() and emails.str.contains(r"\s$").any()
    assert emails.str.contains(r"^[A-Z0-9.+@]+$").any()  # shouted addresses
    clean = emails.str.strip_chars().str.to_lowercase()
    assert clean.str.contains(r"^[a-z]+\.[a-z]+\d+(\+[a-z0-9]+)?@[a-z.]+\.(com|org|net)$").all()


def test_distinct_people_never_share_an_email(project):
    customers = project.people_of("customers", project.customers, "customer_number")
    clean = customers.filter(~_placeholder("email", project.params["email_placeholders"])).with_columns(
        pl.col("email").str.strip_chars().str.to_lowercase()
    )
    owners = clean.group_by("email").agg(pl.col("person_id").n_unique().alias("people"))
    assert owners["people"].max() == 1


def test_some_people_changed_email_between_their_orders(project):
    orders = project.people_of("orders", project.orders, "order_no").filter(
        ~_placeholder("email_address", project.params["email_placeholders"])
    )
    domains = orders.with_columns(pl.col("email_address").str.strip_chars().str.to_lowercase()).group_by(
        "person_id"
    )
    changed = domains.agg(pl.col("email_address").str.extract(r"@(.*)$").n_unique().alias("domains"))
    assert changed.filter(pl.col("domains") > 1).height > 0


def test_crm_holds_some_people_twice(project):
    customers = project.people_of("customers", project.customers, "customer_number")
    twice = customers.group_by("person_id").len().filter(pl.col("len") == 2).height
    crm_people = customers["person_id"].n_unique()
    share = project.params["crm_duplicate_share"]
    assert abs(twice / crm_people - share) < _binomial_slack(share, crm_people)


def test_phones_are_valid_mobiles_in_several_formats(project):
    customers = project.customers.filter(~_placeholder("mobile", project.params["phone_placeholders"]))
    sample = customers.head(3000)
    for phone, country in sample.select("mobile", "country").iter_rows():
        number = phonenumbers.parse(phone, country)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE, phone
    mobile = sample["mobile"]
    assert mobile.str.starts_with("+").any() and mobile.str.starts_with("00").any()
    assert mobile.str.contains(" ").any() and mobile.str.contains(r"^0[1-9]").any()  # national, trunk 0
    assert set(sample["country"].unique().to_list()) == set(REGIONS)


def test_share_of_people_on_a_household_phone_matches_the_plant(project):
    params = project.params
    customers = project.people_of("customers", project.customers, "customer_number").filter(
        ~_placeholder("mobile", params["phone_placeholders"])
    )
    e164 = [
        phonenumbers.format_number(phonenumbers.parse(p, c), phonenumbers.PhoneNumberFormat.E164)
        for p, c in customers.select("mobile", "country").iter_rows()
    ]
    people = customers.with_columns(pl.Series("e164", e164)).unique(["person_id", "e164"])
    shared = people.group_by("e164").agg(pl.col("person_id").n_unique().alias("people"))
    on_shared = shared.filter(pl.col("people") > 1)["people"].sum()
    # a pair shows only when both partners are in the CRM with a real number
    pairs = round(params["household_phone_share"] * params["customers"] / 2)
    visible = ((1 - params["guest_only_person_share"]) * (1 - params["placeholder_share"])) ** 2
    expected = 2 * pairs * visible
    assert abs(on_shared - expected) < 2 * 4 * math.sqrt(pairs * visible * (1 - visible)) + 4
    assert shared["people"].max() == 2


def test_crm_names_keep_their_accents(project):
    names = pl.concat([project.customers["first_name"], project.customers["surname"]])
    assert names.str.contains("[áéíóúñüöäßëçèï]").any()
    assert {"José", "Zoë"} & set(names.to_list())


def test_guest_orders_carry_only_an_email_or_a_phone(project):
    orders = project.orders
    guests = orders.filter(pl.col("cust_id").is_null() | (pl.col("cust_id") == "-1"))
    assert 0.05 < len(guests) / len(orders) < 0.2
    phone_guests = guests.filter(pl.col("sales_channel") == "phone")
    assert phone_guests["email_address"].is_null().all()
    assert guests.filter(pl.col("sales_channel") != "phone")["phone_number"].is_null().all()
    assert orders.filter(pl.col("cust_id") == "-1")["sales_channel"].unique().to_list() == ["store"]
