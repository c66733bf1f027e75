"""A sealed value round-trips, and a payload that no longer matches its sha256 or length is not intact."""

from __future__ import annotations

from cxdata.sealed import intact, seal, unseal


def test_a_sealed_value_round_trips_and_tampering_is_seen():
    value = {"bytes": b"\x00\\x41" + bytes(range(256)), "nested": [1.5, None, "é"]}
    row = seal(value)
    assert intact(row) and unseal(row) == value
    assert not intact({**row, "payload": row["payload"][:-1] + b"\x00"})  # same length, other bytes
    assert not intact({**row, "bytes": row["bytes"] + 1})
