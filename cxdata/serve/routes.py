"""What every route of the HTTP API shares: the bearer scheme and the scopes an operation needs, the served
warehouse, the parameter types, the documented error answers, and the JSON rows of a frame."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
import polars.selectors as cs
from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPBearer, SecurityScopes
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException

from cxdata.config import FIRST_DAY, LAST_DAY
from cxdata.serve import pii_access
from cxdata.serve.access import MAX_VALUE_LENGTH, BadValue, parse_day
from cxdata.serve.auth import API_TOKEN_ENV, PERSONAL, PII_TOKEN_ENV, READ, AuthError, granted
from cxdata.serve.responses import Error
from cxdata.warehouse import Warehouse

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


# -- security: the bearer scheme of the OpenAPI document, and the scopes each operation needs ----------------


class _Bearer(HTTPBearer):
    async def __call__(self, request: Request) -> frozenset[str]:  # type: ignore[override]
        header = request.headers.get("authorization")
        try:
            held = granted(request.app.state.tokens, header)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers=_CHALLENGE) from None
        request.state.actor = pii_access.actor(header)
        return held


_bearer = _Bearer(
    scheme_name="bearer",
    description=f"A token of {API_TOKEN_ENV} (scope read) or of {PII_TOKEN_ENV} (scopes read and {PERSONAL}).",
    auto_error=False,
)


async def authorised(
    security_scopes: SecurityScopes, held: Annotated[frozenset[str], Depends(_bearer)]
) -> frozenset[str]:
    for scope in security_scopes.scopes:
        require_scope(held, scope)
    return held


def require_scope(held: frozenset[str], scope: str) -> None:
    if scope in held:
        return
    if READ not in held:
        raise HTTPException(401, "a bearer token is required", headers=_CHALLENGE)
    raise HTTPException(403, f"this token does not have the {scope!r} scope")


Scopes = Annotated[frozenset[str], Security(authorised, scopes=[READ])]
PERSONAL_SCOPE = Security(authorised, scopes=[READ, PERSONAL])


@dataclass(frozen=True)
class ServedState:
    wh: Warehouse
    currency: str
    access: pii_access.AccessLog


async def served_state(request: Request) -> ServedState:
    return request.app.state.served


Served = Annotated[ServedState, Depends(served_state)]


# -- parameters -----------------------------------------------------------------------------------------------


def _day(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return parse_day(text)
    except BadValue as exc:
        raise ValueError(str(exc)) from None


AsOf = Annotated[
    dt.date | None,
    BeforeValidator(_day),
    Query(
        description="Read the latest scoring moment on this UTC day (YYYY-MM-DD, "
        f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}); default the latest of all."
    ),
]


def text_param(description: str, where: Any = Query) -> Any:
    return where(description=description, max_length=MAX_VALUE_LENGTH)


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "A parameter is malformed or out of range."},
    401: {"model": Error, "description": "No token, or an invalid one.", "headers": {"WWW-Authenticate": {
        "schema": {"type": "string"}, "description": "Bearer."}}},
    404: {"model": Error, "description": "Nothing published under that name, key or day."},
    500: {"model": Error, "description": "The warehouse failed; the server log says why."},
    503: {"model": Error, "description": "The warehouse is momentarily busy (a pipeline publishing): retry.",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}},
    # Every other error (405 for a method other than GET, ...) has the same body. Declaring it also keeps
    # FastAPI from documenting a 422 this API never sends: a malformed parameter is a 400.
    "default": {"model": Error, "description": "Any other error."},
}  # fmt: skip
FORBIDDEN = {403: {"model": Error, "description": f"The token lacks the {PERSONAL} scope."}}


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    # JSON has no NaN; a missing estimate is null.
    return frame.with_columns(cs.float().fill_nan(None)).to_dicts()


def next_page(request: Request, after: str | None, limit: int) -> str | None:
    """Path and query of the page after cursor ``after`` (this request's parameters with it); None on the last."""
    if after is None:
        return None
    return f"{request.url.path}?{urlencode({**dict(request.query_params), 'after': after, 'limit': str(limit)})}"
