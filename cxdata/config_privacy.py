"""The `privacy` config section: where the suppression salt and the erasure requests come from.

Like `cxdata.config_scale`, one mapping of `cxdata.yaml` with its defaults, held by
`cxdata.config.ProjectConfig`.
"""

from __future__ import annotations

from pydantic import Field

from cxdata.config_sections import SourceConfig, Strict

DEFAULT_SALT_ENV = "CXDATA_PRIVACY_SALT"


class PrivacyConfig(Strict):
    """Erasure and suppression: the environment variable that holds the salt of the suppression hashes, and the
    optional source of erasure requests carried out on every run (`cxdata.schema.ERASURE_REQUESTS`)."""

    # the salt itself is a secret: never in the config, only the name of the variable that holds it
    salt_env: str = Field(DEFAULT_SALT_ENV, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    requests: SourceConfig | None = None
