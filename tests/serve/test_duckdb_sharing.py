"""A served DuckDB file stays writable by the pipeline: the server closes it once requests pause, answers 503 with
Retry-After while another process holds the file, and still caches its catalog lookups."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from cxdata.serve.access import IDLE_CLOSE_SECONDS, open_read_only
from cxdata.serve.segments import list_segments, page
from cxdata.warehouse import Warehouse

from .conftest import Client, fixture_tables, running

# A pipeline's publish, in its own process as the nightly run would be.
WRITER = """
import sys
import polars as pl
from cxdata.warehouse import Warehouse
with Warehouse(sys.argv[1]) as wh:
    wh.publish(sys.argv[2], pl.DataFrame({"x": [1, 2, 3]}))
"""
# A process holding the file read-write until its stdin closes, as a publish does for its duration.
HOLDER = """
import sys
from cxdata.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
with wh.engine.connect() as conn:
    conn.exec_driver_sql("select 1")
    print("held", flush=True)
    sys.stdin.readline()
wh.dispose()
"""


@pytest.fixture
def duck(tmp_path):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    with Warehouse(url) as wh:
        for name, frame in fixture_tables().items():
            wh.publish(name, frame)
    return url


def publish_from_another_process(url: str, table: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WRITER, url, table], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_pipeline_publishes_between_requests(duck):
    with running(duck, None) as base:
        for round_ in range(2):
            # A new connection each round: uvicorn drops keep-alive connections idle for 5 s.
            client = Client(base)
            assert client.get("/segments")[0] == 200
            status, _, body = client.get("/segments/lost?format=csv")
            assert status == 200 and body.count(b"\n") > 5  # the whole streamed body, after which it lets go
            client.close()
            time.sleep(IDLE_CLOSE_SECONDS + 0.5)  # the quiet moment after which the server lets go of the file
            written = publish_from_another_process(duck, f"published_{round_}")
            assert written.returncode == 0, written.stderr[-2000:]
            client = Client(base)
            assert client.json("/segments/lost?limit=3")["count"] == 3
            client.close()
    with Warehouse(duck) as wh:
        assert wh.row_count("published_0") == 3 and wh.row_count("published_1") == 3


def test_a_request_while_a_writer_holds_the_file_gets_503_with_retry_after(duck):
    with running(duck, None) as base:
        warm = Client(base)
        assert warm.json("/segments/lost?limit=5")["count"] == 5  # the catalog and scoring moment are cached now
        warm.close()
        time.sleep(IDLE_CLOSE_SECONDS + 0.5)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, duck], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout.readline().strip() == "held"
            client = Client(base)
            for path in ("/segments/lost?limit=5", "/segments/lost?format=csv", "/segments"):
                status, headers, body = client.get(path)
                assert status == 503, (path, status, body[:300])
                assert headers.get("retry-after") == "5" and "busy" in json.loads(body)["error"]
            client.close()
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)
        assert holder.returncode == 0
        client = Client(base)
        assert client.json("/segments/lost?limit=5")["count"] == 5
        client.close()


def test_catalog_and_scoring_moment_are_remembered_between_requests(duck):
    with open_read_only(duck) as wh:
        opened: list[object] = []  # one checkout per query
        sa.event.listen(wh.engine, "checkout", lambda connection, *_: opened.append(connection))
        list_segments(wh)
        assert len(opened) == 3  # catalog, latest as_of, summary rows
        list_segments(wh)
        assert len(opened) == 4  # only the summary rows again
        page(wh, "lost", limit=2)
        # segment names, whether customer_scores holds that moment, the page
        assert len(opened) == 7
        page(wh, "lost", limit=2)
        assert len(opened) == 8
