"""Serving scored segments to marketing: listing and exporting segments, and a read-only HTTP API.

    from cxdata.serve.access import open_read_only
    from cxdata.serve.export import export
    from cxdata.serve.segments import list_segments

    with open_read_only("duckdb:///.cxdata/warehouse.duckdb") as wh:
        list_segments(wh)
        export(wh, "high_value_at_risk", "at_risk.csv", contacts="hashed", purpose="email")

Modules: `segments` (segments, paging, the hashing rule), `export` (a segment to a file, with holdouts),
`membership` (who entered and left a segment, a customer's stays), `scores`
(customer scores newest first, lookup by email or customer_ref, touchpoints),
`access` (read-only connection, quoting, streaming), `auth` (tokens and
scopes), `responses` (the API's bodies), `api` (the FastAPI app), `routes` (what its routes share),
`http_errors` (its error answers), `access_log` (no identifiers in the access
log), `commands` (the `cxdata segments` and `cxdata serve` commands). Nothing is imported here,
so `cxdata --help` does not load polars or the web framework.
"""
