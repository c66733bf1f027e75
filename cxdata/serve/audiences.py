"""Ad-platform audience files: a segment's members as Google Ads Customer Match or Meta custom-audience rows.

Each template writes the platform's own column headers, each value normalised as the platform documents and
hashed (lower-case hex SHA-256 of the UTF-8 bytes) where it asks for a hash, in SQL, so raw contacts never
leave the warehouse. An empty value stays empty, never the hash of "".

Google Ads Customer Match (``google``; headers Email, Phone, First Name, Last Name, Country, Zip): email and
names lower-cased with every whitespace character removed, phone in E.164 (``+`` and the digits), all four
hashed; Country (ISO 3166-1 alpha-2, upper case) and Zip are sent as they are, unhashed.

Meta custom audiences (``meta``; headers email, phone, fn, ln, zip, country): email trimmed and lower-cased;
phone the digits with the country code, no ``+``, no leading zeros; first and last name lower-cased without
whitespace or punctuation (accented letters kept, as UTF-8); zip lower-cased without whitespace; country the
lower-case ISO alpha-2 code; every value hashed.

A country that is not a two-letter code (``Spain``) is left empty rather than guessed. Names, postcode and
country come from ``dim_customer_pii`` (the CRM's newest values), email and phone are identity resolution's
best ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from cxdata.serve.access import BadValue, check_value, require, shown, table
from cxdata.warehouse import Warehouse
from cxdata.warehouse.types import DUCKDB

PII = "dim_customer_pii"
MEMBERS = "segment_members"


def _lit(text: str) -> sa.ColumnElement:
    return sa.literal_column("'" + text.replace("'", "''") + "'")


def _strip(value: sa.ColumnElement, pattern: str) -> sa.ColumnElement:
    return sa.func.regexp_replace(value, _lit(pattern), "", _lit("g"))


def _present(value: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.nullif(value, "")


def normalised_email(column: sa.ColumnElement) -> sa.ColumnElement:
    """Email as hashed: trimmed, lower-cased, null when empty (Meta's rule; `--hashed` exports use it too)."""
    return _present(sa.func.lower(sa.func.trim(column)))


def normalised_phone(column: sa.ColumnElement) -> sa.ColumnElement:
    """Phone as hashed: ``+`` and the digits of the stored E.164 number, null when it has no digits (Google's
    rule; `--hashed` exports use it too)."""
    return sa.literal("+") + _present(_strip(column, "[^0-9]"))


def _country(value: sa.ColumnElement) -> sa.ColumnElement:
    code = sa.func.trim(value)
    return sa.case((sa.func.length(code) == 2, _present(_strip(code, "[^A-Za-z]"))), else_=None)


@dataclass(frozen=True)
class Field:
    """One column of a template: its header, the dim_customer_pii column it reads, how it is normalised, and
    whether it is hashed."""

    header: str
    column: str
    normalise: Callable[[sa.ColumnElement], sa.ColumnElement]
    hashed: bool = True


TEMPLATES: dict[str, tuple[Field, ...]] = {
    "google": (
        Field("Email", "email", lambda v: _present(_strip(sa.func.lower(v), "[[:space:]]"))),
        Field("Phone", "phone", normalised_phone),
        Field("First Name", "first_name", lambda v: _present(_strip(sa.func.lower(v), "[[:space:]]"))),
        Field("Last Name", "last_name", lambda v: _present(_strip(sa.func.lower(v), "[[:space:]]"))),
        Field("Country", "country", lambda v: sa.func.upper(_country(v)), hashed=False),
        Field("Zip", "postcode", lambda v: _present(sa.func.trim(v)), hashed=False),
    ),
    "meta": (
        Field("email", "email", normalised_email),
        Field("phone", "phone", lambda v: _present(_strip(_strip(v, "[^0-9]"), "^0+"))),
        Field("fn", "first_name", lambda v: _present(_strip(sa.func.lower(v), "[[:space:][:punct:]]"))),
        Field("ln", "last_name", lambda v: _present(_strip(sa.func.lower(v), "[[:space:][:punct:]]"))),
        Field("zip", "postcode", lambda v: _present(_strip(sa.func.lower(v), "[[:space:]]"))),
        Field("country", "country", lambda v: sa.func.lower(_country(v))),
    ),
}


def sha256_hex(wh: Warehouse, value: sa.ColumnElement) -> sa.ColumnElement:
    """Lower-case hex SHA-256 of the UTF-8 bytes of ``value``, in the warehouse's SQL (null stays null)."""
    if wh.dialect == DUCKDB:
        return sa.func.sha256(value)
    utf8 = sa.func.convert_to(value, _lit("UTF8"))
    return sa.func.encode(sa.func.sha256(utf8), _lit("hex"))


def template_columns(wh: Warehouse, template: str) -> tuple[sa.TableClause, list[sa.ColumnElement]]:
    """dim_customer_pii (to join on customer_key) and the template's columns over it, labelled with the
    platform's headers (a column the table lacks is null)."""
    fields = TEMPLATES.get(template)
    if fields is None:
        raise BadValue(f"audience template must be one of {', '.join(TEMPLATES)}, got {shown(str(template))}")
    available = set(require(wh, PII, "build the customer marts (dim_customer_pii) to export an audience"))
    pii = table(wh, PII, "customer_key", *[f.column for f in fields if f.column in available])
    selected: list[sa.ColumnElement] = []
    for field in fields:
        if field.column not in available:
            selected.append(sa.null().label(field.header))
            continue
        value = field.normalise(pii.c[field.column])
        selected.append((sha256_hex(wh, value) if field.hashed else value).label(field.header))
    return pii, selected


def contact_columns(wh: Warehouse, contacts: str) -> tuple[sa.TableClause, list[sa.ColumnElement]]:
    """dim_customer_pii (to join on customer_key) and the contact columns of ``contacts``: raw (email, phone as
    stored) or hashed (email_sha256, phone_sha256 of the normalised values)."""
    require(wh, PII, "build the customer marts (dim_customer_pii) or export without contacts")
    pii = table(wh, PII, "customer_key", "email", "phone")
    if contacts == "raw":
        return pii, [pii.c.email, pii.c.phone]
    return pii, [
        sha256_hex(wh, normalised_email(pii.c.email)).label("email_sha256"),
        sha256_hex(wh, normalised_phone(pii.c.phone)).label("phone_sha256"),
    ]


def audience_statement(wh: Warehouse, name: str, as_of: dt.datetime, template: str) -> sa.Select:
    """customer_key (for holdouts; the file leaves it out) and the template's columns of segment ``name``'s
    members at ``as_of``, by customer_key."""
    check_value(name, "segment name")
    pii, columns = template_columns(wh, template)
    members = table(wh, MEMBERS, "segment", "customer_key", "as_of")
    joined = members.outerjoin(pii, pii.c.customer_key == members.c.customer_key)
    return (
        sa.select(members.c.customer_key, *columns)
        .select_from(joined)
        .where(members.c.segment == name, members.c.as_of == as_of)
        .order_by(members.c.customer_key)
    )
