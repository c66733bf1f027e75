"""The hand-made identity tables (`tests.privacy.identity_tables`) published on each backend."""

from __future__ import annotations

import pytest

from cxdata.config_privacy import DEFAULT_SALT_ENV
from cxdata.warehouse import Warehouse
from tests.privacy.identity_tables import HISTORY, IDENTITY, LINKS, MERGES, RECORD_KEYS


@pytest.fixture
def wh(warehouse_target, monkeypatch):
    monkeypatch.setenv(DEFAULT_SALT_ENV, "x" * 32)
    url, schema = warehouse_target
    with Warehouse(url, schema) as warehouse:
        for name, frame in {
            "identity_links": LINKS, "identity_record_keys": RECORD_KEYS, "customer_identity": IDENTITY,
            "identity_merges": MERGES, "customer_scores_history": HISTORY,
        }.items():  # fmt: skip
            warehouse.publish(name, frame)
        yield warehouse
