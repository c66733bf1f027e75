"""The API's side of `pii_access_log`: each answer holding personal data is recorded in the project's outbox
(`cxdata.privacy.access_log`) before it is given, or refused (503) when it cannot be.

A JSON page or a lookup is recorded with its row count before the answer leaves; a CSV stream, whose size is
known only at its end, when the stream ends (also when the client goes away), with the rows sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.exceptions import HTTPException

from cxdata.privacy.access_log import AccessEntry, record_access, token_actor

_UNLOGGED = "personal data is served only with an access log: start the server with `cxdata serve --config`"


def actor(header: str | None) -> str:
    """Who a request is: its bearer token's fingerprint, or ``anonymous`` without one."""
    if header is None:
        return "anonymous"
    return token_actor(header.partition(" ")[2].strip())


@dataclass(frozen=True)
class Access:
    """One request's access to personal data, not yet recorded."""

    folder: Path
    actor: str
    action: str
    segment: str | None
    purpose: str | None
    contacts: str | None

    def record(self, rows: int) -> None:
        """Record the access with ``rows`` given; a 503 when the outbox cannot be written."""
        entry = AccessEntry.now(
            actor=self.actor, via="api", action=self.action, segment=self.segment, purpose=self.purpose,
            contacts=self.contacts, rows=rows,
        )  # fmt: skip
        try:
            record_access(self.folder, entry)
        except OSError as exc:
            raise HTTPException(503, f"the access to personal data could not be logged ({exc.strerror})") from None

    @contextmanager
    def streaming(self) -> Iterator[Callable[[int], None]]:
        """A counter of the rows a stream sends; the access is recorded with their sum when the stream ends."""
        sent = [0]
        try:
            yield lambda rows: sent.__setitem__(0, sent[0] + rows)
        finally:
            self.record(sent[0])


class AccessLog:
    """Where the app records accesses: the outbox folder, or None (personal data refused)."""

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def opened(
        self, request: Request, action: str, segment: str | None, purpose: str | None, contacts: str | None
    ) -> Access:
        """The access ``request`` is about to make; a 503 when there is no outbox to record it in."""
        if self.folder is None:
            raise HTTPException(503, _UNLOGGED)
        who = getattr(request.state, "actor", "anonymous")
        return Access(self.folder, who, action, segment, purpose, contacts)
