"""Python values stored as checksummed pickles in the warehouse (`cxdata.model_store`, `cxdata.handoffs`).

A pickle is unpickled, so it must only ever come from the project's own warehouse: the sha256 and length
detect corruption, not tampering by someone who can write the table.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping
from typing import Any


def seal(value: Any) -> dict[str, Any]:
    """``value`` pickled (highest protocol) as the columns ``payload``, ``sha256`` (hex) and ``bytes``."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return {"sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload), "payload": payload}


def intact(row: Mapping[str, Any]) -> bool:
    """Whether a stored row's ``payload`` matches its ``sha256`` and ``bytes``."""
    payload = row["payload"]
    return hashlib.sha256(payload).hexdigest() == row["sha256"] and len(payload) == row["bytes"]


def unseal(row: Mapping[str, Any]) -> Any:
    """The value of an `intact` row (check it first: this only unpickles)."""
    return pickle.loads(row["payload"])  # our own warehouse's bytes, checksummed by the caller
