"""customer_consent: per customer and purpose the newest statement wins, a record silent on a purpose does not
undo an older one, and the generator states consent with the shares it was given (issue 23)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import load_config
from cxdata.io.staging import stage_table
from cxdata.marts.consent import customer_consent
from cxdata.synth import SynthParams, generate_project

UTC = dt.UTC


def _at(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, 12, tzinfo=UTC)


def test_the_newest_statement_per_purpose_wins_and_silence_undoes_nothing():
    customers = pl.DataFrame(
        {
            "customer_ref": ["a1", "a2", "b1", "c1", "d1", "d2"],
            "created_at": [_at(1), _at(2), _at(1), _at(1), _at(1), _at(1)],
            # a1 said yes to everything; its twin a2, later, refused ads and said nothing of sms
            "consent_email": [True, True, False, None, True, False],
            "consent_sms": [True, None, None, None, None, None],
            "consent_ads": [True, False, True, None, True, False],
            "consent_updated_at": [_at(3), _at(5), _at(4), None, _at(6), _at(6)],
        }
    )
    keys = pl.DataFrame(
        {
            "source_table": ["customers"] * 6 + ["orders"],
            "record_id": ["a1", "a2", "b1", "c1", "d1", "d2", "a1"],
            "customer_key": ["A", "A", "B", "C", "D", "D", "Z"],
        }
    )
    got = customer_consent(customers.lazy(), keys.lazy()).collect()
    assert got.rows() == [
        ("A", True, True, False, _at(5)),
        ("B", False, None, True, _at(4)),
        ("C", None, None, None, None),
        # d1 and d2 stated at the same moment: the smaller customer_ref decides, so reruns agree
        ("D", True, None, True, _at(6)),
    ]


def test_generated_consent_has_the_shares_it_was_given(tmp_path):
    params = SynthParams(customers=4000, seed=61)
    project = generate_project(tmp_path / "p", params)
    staged = stage_table(load_config(project.config_path), "customers")
    assert staged.quarantined.is_empty()
    rows = staged.accepted
    stated = rows.filter(pl.col("consent_updated_at").is_not_null())
    silent = rows.height - stated.height
    assert abs(silent / rows.height - params.consent_missing_share) < 0.02
    assert (
        stated.select(pl.sum_horizontal(pl.col("consent_email", "consent_sms", "consent_ads").null_count())).item()
        == 0
    )
    for column, share in (("consent_sms", params.sms_consent_share), ("consent_ads", params.ads_consent_share)):
        assert abs(stated[column].mean() - share) < 0.03, column
    assert abs(stated["consent_email"].mean() - params.subscribed_share) < 0.03
    late = stated.filter(pl.col("consent_updated_at") < pl.col("created_at"))
    assert late.is_empty()  # a statement is made once the record exists
