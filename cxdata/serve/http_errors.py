"""The error answers of the HTTP API: every error is JSON ``{"error": ...}``, never a traceback or a query.

A malformed parameter is a 400 naming the parameter (and its value, unless it is a personal identifier); what
is not published a 404 (an unknown segment adds ``known``); a warehouse failure a 500 without detail, logged,
or a 503 with ``Retry-After`` when the warehouse is only momentarily unavailable
(`cxdata.warehouse.errors.is_transient`: a pipeline holding the DuckDB file to publish, a PostgreSQL connection
hiccup). Logs name the path, never the query or the answer's values: either may hold personal data.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from cxdata.serve.access import BadValue, ServeError, shown
from cxdata.serve.auth import PERSONAL_PARAMETERS
from cxdata.serve.segments import UnknownSegment
from cxdata.warehouse import WarehouseError
from cxdata.warehouse.errors import is_transient

log = logging.getLogger(__name__)
# A DuckDB publish holds the file for seconds (load, swap); PostgreSQL hiccups pass sooner.
RETRY_AFTER_SECONDS = 5


def add_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as above."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ServeError, _serve_error)
    app.add_exception_handler(WarehouseError, _warehouse_error)
    app.add_exception_handler(ResponseValidationError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)


def _error(message: str, status: int, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(str(exc.detail), exc.status_code, exc.headers)


async def _invalid(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        name = str(error["loc"][-1]) if error.get("loc") else "request"
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, Exception):  # our own validators' messages (as_of) say it all
            problems.append(str(cause))
            continue
        text = f"{name}: {error['msg'][:1].lower()}{error['msg'][1:]}"
        if name not in PERSONAL_PARAMETERS and isinstance(error.get("input"), str):
            text += f", got {shown(error['input'])}"
        problems.append(text)
    return _error("; ".join(problems) or "malformed request", 400)


async def _serve_error(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, BadValue):
        return _error(str(exc), 400)
    if isinstance(exc, UnknownSegment):
        return _error(str(exc), 404, known=exc.known)
    # The rest (NotPublished, UnknownCustomer, UnknownIdentifier, nothing scored that day) say what is not there.
    return _error(str(exc), 404)


async def _warehouse_error(request: Request, exc: Exception) -> Response:
    if is_transient(exc):
        log.warning("warehouse busy serving %s: %s", request.url.path, exc)
        return _error(
            "the warehouse is busy (a pipeline may be publishing); retry shortly",
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("warehouse error serving %s: %s", request.url.path, exc)
    return _error("the warehouse could not answer; see the server log", 500)


async def _unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ResponseValidationError):
        where = sorted({".".join(str(part) for part in e.get("loc", ())) for e in exc.errors()})[:5]
        log.error("the answer to %s does not match its model at %s", request.url.path, ", ".join(where))
    else:
        log.error("unexpected %s serving %s", type(exc).__name__, request.url.path)
    return _error("the server could not answer; see the server log", 500)
