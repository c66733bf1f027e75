"""The HTTP API as a real uvicorn server on a loopback port, on DuckDB and PostgreSQL: auth and scopes, paging,
CSV, 404s, no personal data without the personal scope, and a bounded load of 1,000 requests."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata import cli
from cxdata.serve.auth import API_TOKEN_ENV, PII_TOKEN_ENV, AuthConfigError, tokens_from_env
from cxdata.serve.scores import touchpoints
from cxdata.warehouse import Warehouse

from .conftest import (
    EARLIER,
    LATEST,
    PII_TOKEN,
    READ_TOKEN,
    RULES,
    TEST_EMAIL_SHA256,
    Client,
    expected_members,
    key,
)


@pytest.fixture
def client(server):
    c = Client(server)
    yield c
    c.close()


def test_token_required_except_for_health_and_openapi(client):
    for path in ("/segments", "/segments/lost", f"/customers/{key(1)}/scores", "/touchpoints"):
        status, headers, body = client.get(path, token=None)
        assert status == 401 and headers.get("www-authenticate") == "Bearer", (path, status)
        assert "token" in json.loads(body)["error"]
        status, _, _ = client.get(path, token="wrong-token-" + "w" * 30)
        assert status == 401
    status, _, _ = client.get("/segments", token=None, Authorization="Basic dXNlcjpwYXNz")
    assert status == 401
    assert client.json("/healthz", token=None) == {"status": "ok"}
    assert client.get("/healthz", token=None, method="HEAD")[:3:2] == (200, b"")  # as Starlette's GET routes did
    assert client.get("/segments", token=None, method="HEAD")[0] == 401
    assert client.get("/segments", method="HEAD")[:3:2] == (200, b"")
    spec = client.json("/openapi.json", token=None)
    assert spec["openapi"].startswith("3.") and {"/segments", "/segments/{name}", "/touchpoints"} <= set(
        spec["paths"]
    )


def test_segments_list_latest_and_by_day(client):
    latest = client.json("/segments")
    assert [s["segment"] for s in latest["segments"]] == RULES
    assert latest["as_of"].startswith("2026-06-30T22:00:00")
    earlier = client.json("/segments?as_of=2026-05-31")
    assert earlier["as_of"].startswith("2026-05-31T22:00:00")
    assert client.json("/segments?as_of=2026-13-01", expect=400)["error"].startswith("as_of must be a day")


def test_segment_pages_follow_next_links_and_carry_scores(client, published):
    _, _, tables = published
    expected = expected_members(tables, "lost", LATEST, "customer_scores")
    items, path, pages = [], "/segments/lost?limit=4", 0
    while path:
        page = client.json(path)
        assert page["count"] == len(page["items"]) <= 4 and page["contacts"] == "none"
        items += page["items"]
        path, pages = page["next"], pages + 1
    assert pages == 3 and [i["customer_key"] for i in items] == expected["customer_key"].to_list()
    got = {i["customer_key"]: i["clv"] for i in items}
    assert got == dict(zip(expected["customer_key"], expected["clv"], strict=True))
    assert all(set(i) >= {"segment", "as_of", "churn_probability", "value_at_risk"} for i in items)
    nan_row = expected.filter(pl.col("p_alive").is_nan())  # NaN in the warehouse is null in JSON
    for item in items:
        if item["customer_key"] in nan_row["customer_key"].to_list():
            assert item["p_alive"] is None
    for bad in ("limit=0", "limit=1001", "limit=abc", "contacts=all", "format=xml"):
        assert client.json(f"/segments/lost?{bad}", expect=400)["error"]


@pytest.mark.parametrize("ask", ["query", "accept"])
def test_segment_as_csv_streams_every_member(client, published, ask):
    _, _, tables = published
    expected = expected_members(tables, "high_value_at_risk", EARLIER, "customer_scores_history")
    if ask == "query":
        status, headers, body = client.get("/segments/high_value_at_risk?format=csv&as_of=2026-05-31")
    else:
        status, headers, body = client.get("/segments/high_value_at_risk?as_of=2026-05-31", Accept="text/csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert 'filename="high_value_at_risk.csv"' in headers["content-disposition"]
    assert_frame_equal(pl.read_csv(io.BytesIO(body), schema=expected.schema), expected)


def test_contacts_only_with_the_personal_scope(client, published):
    _, _, tables = published
    for contacts in ("raw", "hashed"):
        status, _, body = client.get(
            f"/segments/high_value_at_risk?contacts={contacts}&purpose=email&as_of=2026-05-31"
        )
        assert status == 403 and "personal" in json.loads(body)["error"]
    hashed = client.json(
        "/segments/high_value_at_risk?contacts=hashed&purpose=email&as_of=2026-05-31", token=PII_TOKEN
    )
    first = next(i for i in hashed["items"] if i["customer_key"] == key(1))
    assert first["email_sha256"] == TEST_EMAIL_SHA256 and "email" not in first
    raw = client.json("/segments/high_value_at_risk?contacts=raw&purpose=email&format=json", token=PII_TOKEN)
    stored = dict(
        zip(tables["dim_customer_pii"]["customer_key"], tables["dim_customer_pii"]["email"], strict=True)
    )
    served = {i["customer_key"]: i["email"] for i in raw["items"]}
    assert len(served) == 10 and served == {k: stored[k] for k in served}


def test_no_personal_data_without_the_scope(client, published):
    _, _, tables = published
    personal = [
        v for c in ("email", "phone", "first_name", "last_name") for v in tables["dim_customer_pii"][c] if v
    ]
    paths = ["/segments", "/segments/lost?limit=1000", "/segments/lost?format=csv", f"/customers/{key(1)}/scores"]
    for path in paths:
        _, _, body = client.get(path)
        text = body.decode()
        assert not [v for v in personal if v.strip() in text], path
    _, _, with_scope = client.get("/segments/lost?contacts=raw&purpose=email&format=csv", token=PII_TOKEN)
    assert "@example.com" in with_scope.decode()  # the check above can fail: contacts are in that table


def test_404s_name_what_is_missing(client):
    unknown = client.json("/segments/vip", expect=404)
    assert unknown["known"] == sorted(RULES) and "unknown segment 'vip'" in unknown["error"]
    assert "C9999999999" in client.json("/customers/C9999999999/scores", expect=404)["error"]
    missing = client.json("/touchpoints", expect=404)["error"]
    assert "touchpoint_scores" in missing and "not been published" in missing
    assert client.json("/no/such/route", expect=404)["error"]
    assert "2020-01-01" in client.json("/segments/lost?as_of=2020-01-01", expect=404)["error"]


def test_customer_scores_newest_first(client, published):
    _, _, tables = published
    found = client.json(f"/customers/{key(5)}/scores")
    history = tables["customer_scores_history"].filter(pl.col("customer_key") == key(5))
    assert found["customer_key"] == key(5) and len(found["scores"]) == history.height == 3
    moments = [row["as_of"] for row in found["scores"]]
    assert moments == sorted(moments, reverse=True) and moments[0].startswith("2026-06-30")


def test_a_thousand_requests_without_error(server):
    paths = ["/segments", "/segments/lost?limit=5", f"/customers/{key(7)}/scores", "/segments/champions?limit=50"]

    def worker(share: int) -> list[int]:
        c = Client(server)
        try:
            return [c.get(paths[(share + i) % len(paths)])[0] for i in range(250)]
        finally:
            c.close()

    with ThreadPoolExecutor(4) as pool:
        statuses = [s for batch in pool.map(worker, range(4)) for s in batch]
    assert len(statuses) == 1000 and set(statuses) == {200}


def test_touchpoints_latest_moment_and_channel(warehouse_target):
    url, schema = warehouse_target
    frame = pl.DataFrame(
        {
            "as_of": [EARLIER, LATEST, LATEST, LATEST],
            "touchpoint": ["email/a", "email/a", "search/b", "email/c"],
            "channel": ["email", "email", "search", "email"],
            "roi": [1.0, 2.0, 3.0, 4.0],
            "recommendation": ["hold", "invest", "cut", "invest"],
        }
    )
    with Warehouse(url, schema) as wh:
        wh.publish("touchpoint_scores", frame)
        latest = touchpoints(wh)
        email = touchpoints(wh, channel="email")
        earlier = touchpoints(wh, day=EARLIER.date())
    assert latest["roi"].to_list() == [2.0, 4.0, 3.0]  # by channel, then touchpoint
    assert email["touchpoint"].to_list() == ["email/a", "email/c"] and earlier["roi"].to_list() == [1.0]


def test_serve_refuses_to_start_without_a_usable_token(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(API_TOKEN_ENV, raising=False)
    monkeypatch.delenv(PII_TOKEN_ENV, raising=False)
    config = tmp_path / "cxdata.yaml"
    config.write_text("name: t\nsources:\n  orders:\n    path: orders.csv\n")
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,a,2026-01-01,1\n")
    assert cli.main(["serve", "--config", str(config)]) == 2
    assert "no API token configured" in capsys.readouterr().out
    assert cli.main(["serve", "--config", str(config), "--insecure-local", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().out
    with pytest.raises(AuthConfigError, match="at least 24"):
        tokens_from_env({API_TOKEN_ENV: "short"})
    tokens = tokens_from_env({API_TOKEN_ENV: f"{'a' * 30}, {'b' * 30}", PII_TOKEN_ENV: "c" * 30})
    assert tokens.scopes_for("b" * 30) == {"read"} and tokens.scopes_for("c" * 30) == {"read", "personal"}
    assert tokens.scopes_for("a" * 29) is None and tokens_from_env({}, insecure_local=True).open_read


def test_path_quoting_reaches_the_handler(client):
    # a segment name with a space and a slash-free unicode name are plain values to look up
    for name in ("high value", "ségment"):
        assert client.json(f"/segments/{quote(name)}", expect=404)["known"] == sorted(RULES)


def test_the_cli_loads_the_web_framework_only_to_serve():
    web = "('fastapi', 'starlette', 'uvicorn')"
    code = f"import sys, cxdata.cli; print(','.join(m for m in {web} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_responses_match_the_openapi_spec(client):
    jsonschema = pytest.importorskip("jsonschema")
    spec = client.json("/openapi.json", token=None)
    cases = [
        ("/segments", "/segments", 200, READ_TOKEN),
        ("/segments", "/segments", 401, None),
        ("/segments?as_of=soon", "/segments", 400, READ_TOKEN),
        ("/segments/lost?limit=3", "/segments/{name}", 200, READ_TOKEN),
        ("/segments/lost?contacts=hashed&purpose=email", "/segments/{name}", 200, PII_TOKEN),
        ("/segments/lost?contacts=hashed&purpose=email", "/segments/{name}", 403, READ_TOKEN),
        ("/segments/vip", "/segments/{name}", 404, READ_TOKEN),
        (f"/customers/{key(5)}/scores", "/customers/{customer_key}/scores", 200, READ_TOKEN),
        ("/customers/C9999999999/scores", "/customers/{customer_key}/scores", 404, READ_TOKEN),
        ("/customers?email=user5%40example.com", "/customers", 200, PII_TOKEN),
        ("/customers?customer_ref=CRM-00030", "/customers", 200, PII_TOKEN),  # never scored: null scores
        ("/customers?email=user5%40example.com", "/customers", 403, READ_TOKEN),
        ("/customers?email=nobody%40example.com", "/customers", 404, PII_TOKEN),
        ("/customers", "/customers", 400, PII_TOKEN),
        ("/touchpoints", "/touchpoints", 404, READ_TOKEN),
        ("/healthz", "/healthz", 200, None),
    ]
    for path, template, status, token in cases:
        got, _, body = client.get(path, token)
        assert got == status, (path, got)
        answer = spec["paths"][template]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator({**answer, "components": spec["components"]})
        validator.validate(json.loads(body))
