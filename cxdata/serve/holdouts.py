"""Holdouts on segment exports: which members of a campaign's export are withheld, recorded in the warehouse.

``cxdata segments export NAME --holdout 0.1 --campaign email/winback`` assigns
every member not yet assigned to that campaign by the keyed hash of
`cxdata.touchpoints.experiments` (salt from the environment variable named by
``models.experiments.salt_env``), writes only the treated members, and appends
the new assignments to ``experiment_assignments``. A member assigned before
keeps that first group on every later export, whatever the share or salt is
now, so re-exporting never re-randomises anyone; rows are only ever added, and
readers take each customer's first row (concurrent exports of one campaign
draw the same group for the same salt).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from cxdata.serve.access import BadValue, ServeError, check_value, fetch, shown, table
from cxdata.touchpoints.experiments import CONTROL, assign, salt_id
from cxdata.warehouse import Warehouse

ASSIGNMENTS = "experiment_assignments"
ASSIGNMENT_COLUMNS = ("campaign", "customer_key", "group", "share", "assigned_at", "salt_id", "segment")
# long enough that groups cannot be guessed by trying salts
MIN_SALT_LENGTH = 16
_CAMPAIGN = re.compile(r"[^/\s][^/]*/[^/\s].*")


class SaltMissing(ServeError):
    """The salt's environment variable is unset or too short to keep the groups unguessable."""


@dataclass(frozen=True)
class Holdout:
    """A randomised holdout on an export: the touchpoint ("channel/campaign"), the control share, the salt."""

    campaign: str
    share: float
    salt: str

    def __repr__(self) -> str:  # the salt is a secret: never in a log or a traceback's locals
        return f"Holdout(campaign={self.campaign!r}, share={self.share!r}, salt=<hidden>)"


@dataclass(frozen=True)
class Assignment:
    """The members of an export split by group: the control keys to withhold, and the rows new to the table."""

    control: pl.Series
    new_rows: pl.DataFrame


def holdout_from_env(
    campaign: str, share: float, salt_env: str, environ: Mapping[str, str] | None = None
) -> Holdout:
    """The holdout of ``campaign`` with control ``share``, salted from environment variable ``salt_env``."""
    check_value(campaign, "campaign")
    if not _CAMPAIGN.fullmatch(campaign):
        raise BadValue(
            f"campaign must be the touchpoint as channel/campaign (e.g. email/winback), got {shown(campaign)}"
        )
    if not 0 < share < 1:
        raise BadValue(f"the holdout share must be above 0 and below 1 (0.1 withholds 10%), got {share}")
    salt = (os.environ if environ is None else environ).get(salt_env, "")
    if len(salt) < MIN_SALT_LENGTH:
        state = "is not set" if not salt else f"is shorter than {MIN_SALT_LENGTH} characters"
        raise SaltMissing(
            f"the experiment salt {salt_env} {state}: set it to a long random secret kept for the life of "
            f"your experiments (e.g. `openssl rand -hex 32`); models.experiments.salt_env names the variable"
        )
    return Holdout(campaign, float(share), salt)


def assign_members(wh: Warehouse, holdout: Holdout, keys: pl.Series, segment: str, now: dt.datetime) -> Assignment:
    """Split the members ``keys`` of ``segment``: each keeps the first group recorded for the campaign, and
    the members never assigned are drawn now (rows for experiment_assignments, assigned_at ``now``)."""
    members = pl.DataFrame({"customer_key": keys.cast(pl.String)}).unique(maintain_order=True)
    earlier = _recorded(wh, holdout.campaign)
    known = members.join(earlier, on="customer_key", how="inner")
    new = members.join(earlier, on="customer_key", how="anti")
    new_rows = new.select(
        pl.lit(holdout.campaign).alias("campaign"),
        "customer_key",
        assign(new["customer_key"], holdout.campaign, holdout.share, holdout.salt).alias("group"),
        pl.lit(holdout.share).alias("share"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("assigned_at"),
        pl.lit(salt_id(holdout.salt)).alias("salt_id"),
        pl.lit(segment).alias("segment"),
    )
    control = pl.concat([known, new_rows.select("customer_key", "group")]).filter(pl.col("group") == CONTROL)
    return Assignment(control["customer_key"], new_rows)


def _recorded(wh: Warehouse, campaign: str) -> pl.DataFrame:
    """Each customer's first recorded group in ``campaign`` (empty when nothing is recorded yet)."""
    empty = pl.DataFrame(schema={"customer_key": pl.String, "group": pl.String})
    if not wh.exists(ASSIGNMENTS):  # not the remembered catalog: a table made seconds ago must be seen
        return empty
    held = table(wh, ASSIGNMENTS, "campaign", "customer_key", "group", "assigned_at")
    statement = (
        sa.select(held.c.customer_key, held.c.group)
        .where(held.c.campaign == campaign)
        .order_by(held.c.customer_key, held.c.assigned_at)
    )
    found = fetch(wh, statement)
    if found.is_empty():
        return empty
    return found.select(pl.col("customer_key").cast(pl.String), pl.col("group").cast(pl.String)).unique(
        "customer_key", keep="first", maintain_order=True
    )
