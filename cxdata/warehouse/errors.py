"""The one exception the warehouse raises, and the safe wording of its causes."""

from __future__ import annotations

import sqlalchemy as sa


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table and the step, the cause is chained."""


def safe_url(url: sa.URL) -> str:
    """The URL as text with any password masked, for messages and logs."""
    return url.render_as_string(hide_password=True)


def describe_cause(exc: BaseException, url: sa.URL) -> str:
    """A one-line account of ``exc`` without SQL text, parameters or the URL's password."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    # Driver messages that quote a connection string could echo the password.
    if url.password:
        text = text.replace(str(url.password), "***")
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
