"""Serving scored segments to marketing: listing and exporting segments, and a read-only HTTP API.

    from cxdata.serve.access import open_read_only
    from cxdata.serve.segments import export, list_segments

    with open_read_only("duckdb:///.cxdata/warehouse.duckdb") as wh:
        list_segments(wh)
        export(wh, "high_value_at_risk", "at_risk.csv", contacts="hashed")

Modules: `segments` (segments, paging, exports, the hashing rule), `scores`
(customer scores, touchpoints), `access` (read-only connection, quoting,
streaming), `auth` (tokens and scopes), `api` (the Starlette app), `commands`
(the `cxdata segments` and `cxdata serve` commands). Nothing is imported here,
so `cxdata --help` does not load polars or the web framework.
"""
