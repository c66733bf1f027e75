"""Who read personal data: every contact export and every API request of the personal scope, in `pii_access_log`.

    from cxdata.privacy.access_log import record_access, flush_access_log
    record_access(folder, AccessEntry.now(actor=os_actor(), via="cli", action="segment_export", ...))
    flush_access_log(wh, folder)                        # on every run: the entries into the table

The server reads the warehouse read-only (and on DuckDB may not hold the file while a run publishes), so an
access is first written as one JSON line to an outbox file beside the project (``.cxdata/pii_access/``),
flushed to disk before the data is given; every run then moves the outbox into `pii_access_log`. A flush
renames the outbox before reading it (new accesses go to a fresh file meanwhile), appends the entries whose
access_id the table lacks, then deletes what it read: a crash anywhere in between neither loses nor doubles an
entry. An entry names who (a token's fingerprint, never the token; or the OS user), how, which segment, for
which purpose, and how many rows; never a customer, an identifier or a value asked for.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from cxdata.warehouse import Warehouse

ACCESS_LOG = "pii_access_log"
OUTBOX = "pii_access.jsonl"
_FLUSHING = ".flushing"
_lock = threading.Lock()
SCHEMA = {
    "access_id": pl.String,
    "accessed_at": pl.Datetime("us", "UTC"),
    "actor": pl.String,
    "via": pl.String,
    "action": pl.String,
    "segment": pl.String,
    "purpose": pl.String,
    "contacts": pl.String,
    "rows": pl.Int64,
}


@dataclass(frozen=True)
class AccessEntry:
    """One access to personal data: ``via`` api or cli; ``action`` segment_contacts, segment_export or
    customer_lookup; ``contacts`` raw, hashed or the audience template; ``rows`` the rows given."""

    access_id: str
    accessed_at: str
    actor: str
    via: str
    action: str
    segment: str | None
    purpose: str | None
    contacts: str | None
    rows: int | None

    @classmethod
    def now(cls, **fields: object) -> AccessEntry:
        """An entry for an access happening now, with a new access_id."""
        stamp = dt.datetime.now(dt.UTC).isoformat()
        return cls(access_id=uuid.uuid4().hex, accessed_at=stamp, **fields)  # type: ignore[arg-type]


def token_actor(token: str) -> str:
    """The log's name for a bearer token: the first 16 hex digits of its SHA-256 (the token itself never)."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def os_actor() -> str:
    """The log's name for the person running a command: their operating-system user."""
    try:
        return "os:" + getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"os:uid-{os.getuid()}"


def access_folder(base_dir: Path) -> Path:
    """Where a project's outbox lives: ``.cxdata/pii_access`` beside its config."""
    return base_dir / ".cxdata" / "pii_access"


def record_access(folder: Path, entry: AccessEntry) -> None:
    """Append ``entry`` to the outbox in ``folder`` and flush it to disk; raises OSError when it cannot, so the
    caller gives no data that was not logged."""
    folder.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(entry), separators=(",", ":")) + "\n").encode()
    with _lock:
        handle = os.open(folder / OUTBOX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(handle, line)
            os.fsync(handle)
        finally:
            os.close(handle)


def flush_access_log(wh: Warehouse, folder: Path) -> int:
    """Move the outbox in ``folder`` into `pii_access_log`; the number of entries added."""
    outbox = folder / OUTBOX
    if outbox.exists():
        outbox.rename(folder / f"{uuid.uuid4().hex}{_FLUSHING}")
    taken = sorted(folder.glob(f"*{_FLUSHING}")) if folder.is_dir() else []
    # a line cut short by a crash while it was written is the one access that was never answered
    lines = [line for path in taken for line in path.read_text(encoding="utf-8").splitlines()]
    parsed = [entry for entry in (_parsed(line) for line in lines) if entry is not None]
    entries = pl.DataFrame(parsed, schema={**SCHEMA, "accessed_at": pl.String}, orient="row").with_columns(
        pl.col("accessed_at").str.to_datetime(time_unit="us", time_zone="UTC")
    )
    entries = entries.unique("access_id", keep="first", maintain_order=True)
    if wh.exists(ACCESS_LOG) and entries.height:
        known = wh.read(ACCESS_LOG, columns=["access_id"], where_in=entries.select("access_id"))
        entries = entries.join(known, on="access_id", how="anti")
    # published from the first run on, even empty, so roles and BI can name it
    if entries.height or not wh.exists(ACCESS_LOG):
        wh.append(ACCESS_LOG, entries.sort("accessed_at", "access_id"))
    for path in taken:
        path.unlink()
    return entries.height


def _parsed(line: str) -> tuple | None:
    try:
        found = json.loads(line)
    except json.JSONDecodeError:
        return None
    return tuple(found.get(name) for name in SCHEMA)
