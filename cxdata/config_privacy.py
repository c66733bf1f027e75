"""The `privacy` config section: where the suppression salt and the erasure requests come from, and how long
raw event rows are kept.

Like `cxdata.config_scale`, one mapping of `cxdata.yaml` with its defaults, held by
`cxdata.config.ProjectConfig`.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from cxdata.config_sections import SourceConfig, Strict
from cxdata.schema import EVENT_TIMES

DEFAULT_SALT_ENV = "CXDATA_PRIVACY_SALT"


class PrivacyConfig(Strict):
    """Erasure, suppression and retention: the environment variable that holds the salt of the suppression
    hashes, the optional source of erasure requests carried out on every run (`cxdata.schema.ERASURE_REQUESTS`),
    and per event table the days its raw rows are kept (`cxdata.privacy.retention`)."""

    # the salt itself is a secret: never in the config, only the name of the variable that holds it
    salt_env: str = Field(DEFAULT_SALT_ENV, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    requests: SourceConfig | None = None
    retain_days: dict[str, int] = Field(default_factory=dict)

    @field_validator("retain_days")
    @classmethod
    def _event_tables(cls, value: dict[str, int]) -> dict[str, int]:
        for table, days in value.items():
            if table not in EVENT_TIMES:
                raise ValueError(
                    f"{table!r}: retention applies to the event tables ({', '.join(EVENT_TIMES)}), whose rows "
                    "have a day; a snapshot source (customers) is current state, removed by erasure"
                )
            if not 1 <= days <= 36_500:
                raise ValueError(f"{table}: keep rows 1 to 36,500 days, not {days}")
        return value
