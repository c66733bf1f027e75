"""Where a person's rows are, table by table: the one list an erasure follows.

Every table the project writes is named here, with how the person's rows are found in it, or why it holds
none (`NO_PERSONAL_ROWS`); tests/privacy/test_erase.py fails when a whole run publishes a table this list
does not name, so a new table cannot be forgotten. Views (dim_customer, bi_*, marketing_segment_export)
read these tables and follow them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cxdata.identity.records import TABLES as SOURCE_KEYS

How = Literal["customer_key", "record", "source_key", "identifier", "anonymous_id", "quarantine", "merge"]


@dataclass(frozen=True)
class Match:
    """One way to find the person's rows: ``how``, on the table's ``columns``; ``source``: the source table
    whose record ids a ``source_key`` match takes."""

    how: How
    columns: tuple[str, ...]
    source: str | None = None


_KEY = Match("customer_key", ("customer_key",))
_RECORD = Match("record", ("source_table", "record_id"))
_FACTS = {"fct_orders": "orders", "fct_tickets": "tickets", "fct_surveys": "surveys", "fct_touches": "touches"}

PERSONAL: dict[str, tuple[Match, ...]] = {
    # staged source rows, on their record id; rows held back, on the identifiers in their original values
    **{f"stg_{source}": (Match("source_key", (key,), source),) for source, (key, _) in SOURCE_KEYS.items()},
    **{f"quarantine_{source}": (Match("quarantine", ("_source", "record"), source),) for source in SOURCE_KEYS},
    # identity
    "identity_links": (_RECORD,),
    "identity_record_hashes": (_RECORD,),
    "identity_record_keys": (_RECORD, _KEY),
    "customer_identity": (_KEY, Match("identifier", ("identifier_type", "identifier_value"))),
    "identity_merges": (Match("merge", ("old_key",)), Match("merge", ("new_key",))),
    "identity_touched": (_KEY,),
    # facts: on the key, and on the record id where a fact is one source record
    **{fact: (_KEY, Match("source_key", (SOURCE_KEYS[source][0],), source)) for fact, source in _FACTS.items()},
    "fct_web_sessions": (_KEY, Match("anonymous_id", ("anonymous_id",))),
    # marts, scores, segments, alerts, experiments
    **dict.fromkeys(
        (
            "customer_activity", "dim_customer_pii", "customer_consent", "customer_rfm", "customer_scores",
            "customer_scores_history", "segment_members", "cx_alerts", "experiment_assignments", "mart_touched",
            "segment_membership", "segment_events", "sync_changes", "sync_members",
        ),
        (_KEY,),
    ),
}  # fmt: skip

# Tables without a row per person: counts, sums and model parameters over everyone, run bookkeeping, campaign
# costs, and the privacy tables themselves (which hold no identifier in clear and no customer_key).
NO_PERSONAL_ROWS = frozenset(
    {
        "load_audit", "stg_files", "stg_partitions", "run_context", "pipeline_failures", "validation_runs",
        "identity_inputs", "identity_runs", "mart_inputs", "customer_activity_builds", "dim_customer_params",
        "model_runs", "model_artifacts", "cx_kpis_daily", "segment_summary", "segment_definitions",
        "segment_scorings", "sync_runs", "touchpoint_scores", "touchpoint_scores_history", "stg_touchpoint_costs",
        "quarantine_touchpoint_costs",
        "erasure_log", "suppressed_identifiers", "pii_access_log", "retention_log",
        # a sharded step's outputs, deleted by the run that wrote them when it ends
        "shard_handoffs",
    }
)  # fmt: skip
