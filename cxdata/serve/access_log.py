"""uvicorn's access log without personal identifiers: the values of the email and customer_ref query parameters
(the lookup of `cxdata.serve.api`) are written as ``***``."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit

from cxdata.serve.auth import PERSONAL_PARAMETERS

ACCESS_LOGGER = "uvicorn.access"


class RedactPersonal(logging.Filter):
    """Replaces the values of the email and customer_ref query parameters by ``***`` in uvicorn's access log
    (whose third argument is the path with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True (keep the record), with its path redacted."""
        if isinstance(record.args, tuple) and len(record.args) > 2 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], redacted(record.args[2]), *record.args[3:])
        return True


def redacted(target: str) -> str:
    """``target`` (a path with its query) with the values of PERSONAL_PARAMETERS replaced by ``***``."""
    parts = urlsplit(target)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    # any spelling of the names: a misspelt ?Email= is refused, yet it still holds an address
    personal = [key.strip().lower() in PERSONAL_PARAMETERS for key, _ in pairs]
    if not any(personal):
        return target
    hidden = [(key, "***" if secret else value) for (key, value), secret in zip(pairs, personal, strict=True)]
    return f"{parts.path}?{urlencode(hidden, safe='*')}"


REDACT_PERSONAL = RedactPersonal()


def redact_access_log() -> None:
    """Add the filter to uvicorn's access logger (once). uvicorn configures its loggers when it starts and keeps
    the filters it finds, so this may run before."""
    logging.getLogger(ACCESS_LOGGER).addFilter(REDACT_PERSONAL)
