"""The `activation` config section: named destinations a segment's changes are synced to (`cxdata.activation`).

Like `cxdata.config_scale`, one mapping of `cxdata.yaml` with its defaults, held by
`cxdata.config.ProjectConfig`; what depends on another section (the segment names of
``models.churn.segments``) is checked there, by `activation_problems`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cxdata.config_sections import Strict

Purpose = Literal["email", "sms", "ads"]
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"
_CAMPAIGN = re.compile(r"[^/\s][^/]*/[^/\s].*")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")


class SyncHoldout(Strict):
    """A randomised holdout on a destination: the control share withheld, and the touchpoint (channel/campaign)
    the assignment is recorded for in experiment_assignments."""

    share: float = Field(gt=0, lt=1)
    campaign: str

    @field_validator("campaign")
    @classmethod
    def _touchpoint(cls, value: str) -> str:
        if not _CAMPAIGN.fullmatch(value):
            raise ValueError("the touchpoint as channel/campaign, e.g. email/winback")
        return value


class Destination(Strict):
    """Where one segment's changes go: a folder of files (``path``) or a webhook whose URL is in the environment
    variable ``url_env``; which columns (an ad platform's ``template``, or ``contacts``) for which consent
    ``purpose``; and an optional holdout."""

    segment: str
    template: Literal["google", "meta"] | None = None
    contacts: Literal["none", "raw", "hashed"] = "none"  # without a template: what follows customer_key
    purpose: Purpose | None = None  # required whenever contacts leave (a template, or contacts raw/hashed)
    path: str | None = None  # a folder, relative to the config; one file per sync
    format: Literal["csv", "parquet"] = "csv"
    url_env: str | None = Field(None, pattern=_ENV)  # the webhook URL is a secret: only the variable's name
    token_env: str | None = Field(None, pattern=_ENV)  # optional bearer token for the webhook
    batch_size: int = Field(1000, ge=1, le=50_000)  # changes per webhook POST
    timeout_seconds: float = Field(10.0, gt=0)
    holdout: SyncHoldout | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Destination:
        if (self.path is None) == (self.url_env is None):
            raise ValueError("give exactly one of path (a folder of files) and url_env (a webhook)")
        if self.template is not None and self.contacts != "none":
            raise ValueError("a template chooses the contact columns itself: leave contacts out")
        if self.purpose is None and (self.template is not None or self.contacts != "none"):
            raise ValueError(
                "contacts are synced for a purpose: set purpose (email, sms or ads); only members who agreed to "
                "it are synced"
            )
        if self.token_env is not None and self.url_env is None:
            raise ValueError("token_env is the webhook's bearer token: it needs url_env")
        return self

    @property
    def carries_contacts(self) -> bool:
        """Whether the synced rows hold contacts (a template, raw or hashed)."""
        return self.template is not None or self.contacts != "none"


class ActivationConfig(Strict):
    """Named sync destinations (`cxdata sync NAME`, and an asset per destination on every run)."""

    destinations: dict[str, Destination] = Field(default_factory=dict)

    @field_validator("destinations")
    @classmethod
    def _names(cls, value: dict[str, Destination]) -> dict[str, Destination]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r}: a destination name is lower-case letters, digits and _ (it names an asset), "
                    "starting with a letter, at most 48 characters"
                )
        return value


def activation_problems(
    activation: ActivationConfig, segments: list[str]
) -> list[tuple[tuple[str, ...], object, str]]:
    """(key, value, why) for each destination whose segment is not one of ``segments`` (the rules of
    models.churn.segments)."""
    return [
        (("activation", "destinations", name, "segment"), destination.segment,
         f"not a segment of models.churn.segments ({', '.join(segments)})")
        for name, destination in activation.destinations.items()
        if destination.segment not in segments
    ]  # fmt: skip
