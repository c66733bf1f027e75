"""Contact purposes: an export or API page that carries contacts is for one purpose (email, sms, ads), and
holds only the members who agreed to it (`customer_consent`, `cxdata.marts.consent`).

The purpose is required whenever contacts leave the warehouse (raw, hashed, or an ad platform's audience); a
member without a yes for it (a no, or no statement at all) is left out, and counted, so marketing sees how many
the purpose cost them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from cxdata.marts.consent import NAME as CONSENT
from cxdata.marts.consent import PURPOSES
from cxdata.serve.access import BadValue, fetch, require, shown, table
from cxdata.warehouse import Warehouse

MEMBERS = "segment_members"


def checked_purpose(purpose: str | None, carries_contacts: bool) -> str | None:
    """``purpose`` when valid; BadValue when contacts are asked for without one, or it is not a purpose."""
    if purpose is None:
        if carries_contacts:
            raise BadValue(
                f"contacts are exported for a purpose: give one of {', '.join(PURPOSES)} (only members who agreed "
                "to it are exported), or export without contacts"
            )
        return None
    if purpose not in PURPOSES:
        raise BadValue(f"purpose must be one of {', '.join(PURPOSES)}, got {shown(str(purpose))}")
    return purpose


def consented(wh: Warehouse, key: Any, purpose: str) -> sa.ColumnElement[bool]:
    """The condition that the customer of column ``key`` agreed to ``purpose``."""
    require(wh, CONSENT, "build the customer marts (customer_consent): the customers source states consent")
    consent = table(wh, CONSENT, "customer_key", f"consent_{purpose}")
    agreed = sa.select(sa.literal(1)).where(
        consent.c.customer_key == key, consent.c[f"consent_{purpose}"].is_(sa.true())
    )
    return agreed.exists()


def left_out(wh: Warehouse, name: str, as_of: dt.datetime, purpose: str) -> int:
    """How many members of segment ``name`` at ``as_of`` have not agreed to ``purpose``."""
    members = table(wh, MEMBERS, "segment", "customer_key", "as_of")
    statement = (
        sa.select(sa.func.count().label("n"))
        .select_from(members)
        .where(
            members.c.segment == name, members.c.as_of == as_of, ~consented(wh, members.c.customer_key, purpose)
        )
    )
    return int(fetch(wh, statement)["n"][0])
