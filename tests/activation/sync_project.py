"""A project config with three sync destinations (keys to files, a Meta audience with a holdout, a webhook of
hashed emails), and the contact and consent tables of the customers the scorings of tests/activation/scorings.py
hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import yaml

from cxdata.config import ProjectConfig, load_config
from tests.activation.scorings import key

NOW = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)
HOOK_ENV = "CXDATA_TEST_SYNC_HOOK_URL"


def sync_config(
    folder: Path, target: tuple[str, str | None], segment: str = "high_value_at_risk", batch_size: int = 3
) -> ProjectConfig:
    """Write ``folder``/cxdata.yaml for the warehouse ``target`` (url, schema) and load it (or, for a segment
    the rules do not have, only write it: the returned object's path is the file)."""
    (folder / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,c1,2026-01-01,10\n")
    url, schema = target
    destinations = {
        "keys": {"segment": segment, "path": "out/keys"},
        "meta": {"segment": "high_value_at_risk", "template": "meta", "purpose": "ads", "path": "out/meta",
                 "holdout": {"share": 0.25, "campaign": "social/winback"}},
        "hook": {"segment": "high_value_at_risk", "contacts": "hashed", "purpose": "email", "url_env": HOOK_ENV,
                 "batch_size": batch_size},
    }  # fmt: skip
    document = {
        "name": "sync_test",
        "warehouse": url,
        **({"warehouse_schema": schema} if schema else {}),
        "sources": {"orders": {"path": "orders.csv"}},
        "activation": {"destinations": destinations},
    }
    path = folder / "cxdata.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    if segment != "high_value_at_risk":
        return ProjectConfig.model_construct(path=path)
    return load_config(path)


def pii_rows(numbers: Iterable[int]) -> pl.DataFrame:
    listed = list(numbers)
    return pl.DataFrame(
        {
            "customer_key": [key(n) for n in listed],
            "email": [f"p{n}@example.com" for n in listed],
            "phone": [f"+3460000{n:04d}" for n in listed],
            "first_name": [f"Name{n}" for n in listed],
            "last_name": ["Pérez"] * len(listed),
            "postcode": ["28001"] * len(listed),
            "country": ["ES"] * len(listed),
        }
    )


def consent_rows(numbers: Iterable[int], refused: set[int]) -> pl.DataFrame:
    """Everyone agrees to every purpose but ``refused``, who said no to ads."""
    listed = list(numbers)
    return pl.DataFrame(
        {
            "customer_key": [key(n) for n in listed],
            "consent_email": [True] * len(listed),
            "consent_sms": [True] * len(listed),
            "consent_ads": [n not in refused for n in listed],
            "consent_updated_at": [NOW] * len(listed),
        }
    )
