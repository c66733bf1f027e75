"""Every answer of the API that holds personal data is recorded in the access log's outbox before (a CSV stream:
when) it is given, with the token's fingerprint and the rows given, and never the values asked for; requests
without personal data are not recorded; with no outbox, personal data is refused (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

from cxdata.privacy.access_log import OUTBOX, token_actor

from .conftest import PII_TOKEN, Client, running


def _entries(folder: Path) -> list[dict]:
    lines = (folder / OUTBOX).read_text(encoding="utf-8").splitlines() if (folder / OUTBOX).exists() else []
    return [json.loads(line) for line in lines]


def test_personal_answers_are_recorded_with_who_and_how_many(published, tmp_path):
    url, schema, _ = published
    with running(url, schema, access=tmp_path) as base:
        client = Client(base)
        client.json("/segments/lost")  # no personal data: not recorded
        page = client.json("/segments/lost?contacts=raw&purpose=email&limit=3", token=PII_TOKEN)
        _, _, body = client.get("/segments/lost?contacts=hashed&purpose=sms&format=csv", token=PII_TOKEN)
        found = client.json("/customers?email=user5%40example.com", token=PII_TOKEN)
        client.close()
    entries = _entries(tmp_path)
    assert [(e["action"], e["segment"], e["purpose"], e["contacts"], e["rows"]) for e in entries] == [
        ("segment_contacts", "lost", "email", "raw", len(page["items"])),
        ("segment_contacts", "lost", "sms", "hashed", body.decode().count("\n") - 1),
        ("customer_lookup", None, None, None, len(found["customers"])),
    ]
    assert {e["actor"] for e in entries} == {token_actor(PII_TOKEN)} and {e["via"] for e in entries} == {"api"}
    assert PII_TOKEN not in (tmp_path / OUTBOX).read_text() and "user5" not in (tmp_path / OUTBOX).read_text()


def test_without_an_outbox_personal_data_is_refused(published):
    url, schema, _ = published
    with running(url, schema, unlogged=True) as base:
        client = Client(base)
        refused = client.json("/segments/lost?contacts=raw&purpose=email", token=PII_TOKEN, expect=503)
        client.json("/segments/lost", token=PII_TOKEN)
        client.close()
    assert "access log" in refused["error"]
