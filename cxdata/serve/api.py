"""The HTTP API of `cxdata serve`: a FastAPI app over a read-only warehouse connection.

    GET /segments                          segments at the latest (or ?as_of=DAY) scoring moment
    GET /segments/{name}                   a JSON page of members with scores (?limit, ?after), or CSV of all
                                           (?format=csv or Accept: text/csv); ?contacts=raw|hashed needs the
                                           personal scope
    GET /customers?email=|?customer_ref=   the customer(s) with that identifier and their newest scores
                                           (personal scope)
    GET /segments/{name}/changes?since=    who entered and left it since a run_id or a day (?limit, ?after)
    GET /customers/{customer_key}/scores   every scored run of one customer, newest first, and their stays in
                                           segments
    GET /touchpoints                       the touchpoint investment table (404 until it is published)
    GET /openapi.json, GET /healthz        no token needed

/openapi.json is generated from this module: the parameters with their constraints, the bearer scheme with
the scopes each operation needs, and every body as a model of `cxdata.serve.responses`, which FastAPI also
checks each JSON answer against. Handlers are plain functions, so FastAPI runs them in its thread pool and a
warehouse query never blocks the event loop; the queries themselves are in `segments` and `scores`.

Tokens and scopes: `cxdata.serve.auth`. Errors (JSON ``{"error": ...}``, 400,
401, 403, 404, 500, 503 with ``Retry-After``): `cxdata.serve.http_errors`. An
email or customer_ref looked up is never logged: the access log shows those
query values as ``***`` (`cxdata.serve.access_log`). Every answer holding personal data (contacts, a
lookup) is recorded first in the project's outbox of `pii_access_log` (`cxdata.serve.pii_access`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request, Security
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask

from cxdata.config import DEFAULT_CURRENCY
from cxdata.serve import membership, pii_access, scores, segments
from cxdata.serve.access import open_read_only, stream
from cxdata.serve.access_log import redact_access_log
from cxdata.serve.auth import API_TOKEN_ENV, PERSONAL, PII_TOKEN_ENV, READ, Tokens
from cxdata.serve.http_errors import add_error_handlers
from cxdata.serve.responses import (
    CustomerLookup,
    CustomerScores,
    Health,
    SegmentChanges,
    SegmentList,
    SegmentPage,
    Touchpoints,
)
from cxdata.serve.routes import (
    ERRORS,
    FORBIDDEN,
    PERSONAL_SCOPE,
    AsOf,
    Scopes,
    Served,
    ServedState,
    authorised,
    next_page,
    records,
    require_scope,
    text_param,
)
from cxdata.warehouse import Warehouse

MAX_PAGE = 1000
DEFAULT_PAGE = 100


router = APIRouter(responses=ERRORS)


# -- handlers (sync: FastAPI runs them in its thread pool) ----------------------------------------------------


@router.get(
    "/segments",
    response_model=SegmentList,
    response_model_exclude_unset=True,
    operation_id="listSegments",
    summary="Segments with their size and value at one scoring moment",
    dependencies=[Security(authorised, scopes=[READ])],
)
def _list_segments(served: Served, as_of: AsOf = None) -> Any:
    listed = segments.list_segments(served.wh, as_of)
    return {"as_of": listed["as_of"][0] if listed.height else None, "segments": records(listed.drop("as_of"))}


@router.get(
    "/segments/{name}",
    response_model=SegmentPage,
    response_model_exclude_unset=True,
    operation_id="getSegment",
    summary="Members of one segment with their scores: a JSON page, or all of them as CSV",
    responses={
        200: {
            "description": "A page of members, or (format=csv or Accept: text/csv) every member as CSV.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **FORBIDDEN,
    },
)
def _segment(
    request: Request,
    served: Served,
    held: Scopes,
    name: Annotated[str, text_param("Segment name.", Path)],
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Members per page (JSON).")] = DEFAULT_PAGE,
    after: Annotated[str | None, text_param("Cursor: next_after of the previous page.")] = None,
    fmt: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="csv streams every member (so does Accept: text/csv); default json."),
    ] = None,
    contacts: Annotated[
        segments.Contacts,
        Query(description=f"Add email and phone, raw or SHA-256 of the normalised value (scope {PERSONAL})."),
    ] = "none",
    purpose: Annotated[
        Literal["email", "sms", "ads"] | None,
        Query(description="What the contacts are for (required with contacts): only members who agreed to it."),
    ] = None,
) -> Any:
    access = None
    if contacts != "none":
        require_scope(held, PERSONAL)
        access = served.access.opened(request, "segment_contacts", name, purpose, contacts)
    wanted = fmt or ("csv" if "text/csv" in request.headers.get("accept", "") else "json")
    if wanted == "csv":
        return _csv(served, name, as_of, contacts, purpose, access)
    found = segments.page(served.wh, name, as_of, contacts, limit, after, served.currency, purpose)
    if access is not None:
        access.record(found.rows.height)
    following = next_page(request, found.next_after, limit)
    return {
        "segment": found.segment,
        "as_of": found.as_of,
        "contacts": contacts,
        "purpose": purpose,
        "count": found.rows.height,
        "items": records(found.rows),
        "next_after": found.next_after,
        "next": following,
    }


def _csv(
    served: ServedState,
    name: str,
    day: dt.date | None,
    contacts: segments.Contacts,
    purpose: str | None,
    access: pii_access.Access | None,
) -> Response:
    as_of = segments.resolve_as_of(served.wh, day)
    # unknown names fail before streaming
    statement = segments.members_statement(
        served.wh, name, as_of, contacts, currency=served.currency, purpose=purpose
    )
    # Connect before answering, so a warehouse locked by a publish is a 503 rather than a broken body; the
    # connection closes when the body is done (or, if never iterated, after the response).
    held = ExitStack()
    result = held.enter_context(stream(served.wh, statement))

    def body():
        with held:
            if access is None:
                yield from segments.csv_chunks(result)
                return
            with access.streaming() as sent:
                yield from segments.csv_chunks(result, sent)

    filename = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:80] or "segment"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        background=BackgroundTask(held.close),
    )


@router.get(
    "/customers",
    response_model=CustomerLookup,
    response_model_exclude_unset=True,
    operation_id="findCustomers",
    summary="The customer(s) with an email or customer_ref, with their newest scores",
    description="Give exactly one of email or customer_ref. The email is compared trimmed and lower-cased, the "
    "customer_ref trimmed, as identity resolution stores them. A customer_ref is one namespace for every "
    f"source (orders and tickets carry the CRM's ref). Needs the {PERSONAL} scope; the value is never logged.",
    dependencies=[PERSONAL_SCOPE],
    responses=FORBIDDEN,
)
def _find_customers(
    request: Request,
    served: Served,
    email: Annotated[str | None, text_param("Email address (personal data).")] = None,
    customer_ref: Annotated[str | None, text_param("The CRM's customer id (personal data).")] = None,
) -> Any:
    access = served.access.opened(request, "customer_lookup", None, None, None)
    found = scores.find_customers(served.wh, email=email, customer_ref=customer_ref)
    access.record(found.rows.height)
    customers = []
    for row in records(found.rows):
        scored = row.pop("scored")
        customers.append({"customer_key": row["customer_key"], "latest_scores": row if scored else None})
    return {"matched_by": found.matched_by, "customers": customers}


@router.get(
    "/customers/{customer_key}/scores",
    response_model=CustomerScores,
    response_model_exclude_unset=True,
    operation_id="getCustomerScores",
    summary="Every scored run of one customer, newest first, and their stays in segments",
    dependencies=[Security(authorised, scopes=[READ])],
)
def _customer_scores(
    served: Served, customer_key: Annotated[str, text_param("Resolved customer key.", Path)]
) -> Any:
    found = {"customer_key": customer_key, "scores": records(scores.customer_scores(served.wh, customer_key))}
    spells = membership.customer_membership(served.wh, customer_key)
    return found if spells is None else {**found, "membership": records(spells)}


@router.get(
    "/segments/{name}/changes",
    response_model=SegmentChanges,
    response_model_exclude_unset=True,
    operation_id="getSegmentChanges",
    summary="Who entered and left one segment since a run or a day",
    dependencies=[Security(authorised, scopes=[READ])],
)
def _segment_changes(
    request: Request,
    served: Served,
    name: Annotated[str, text_param("Segment name.", Path)],
    since: Annotated[str, text_param("A run_id (changes after its scoring) or a UTC day YYYY-MM-DD (from it).")],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Changes per page.")] = DEFAULT_PAGE,
    after: Annotated[str | None, text_param("Cursor: next_after of the previous page.")] = None,
) -> Any:
    found = membership.changes(served.wh, name, since, limit, after)
    following = next_page(request, found.next_after, limit)
    return {
        "segment": found.segment, "since": found.since, "since_kind": found.since_kind, "through": found.through,
        "count": found.rows.height, "items": records(found.rows), "next_after": found.next_after,
        "next": following,
    }  # fmt: skip


@router.get(
    "/touchpoints",
    response_model=Touchpoints,
    response_model_exclude_unset=True,
    operation_id="listTouchpoints",
    summary="The touchpoint investment table at its latest scoring moment",
    dependencies=[Security(authorised, scopes=[READ])],
)
def _touchpoints(
    served: Served, as_of: AsOf = None, channel: Annotated[str | None, text_param("Only this channel.")] = None
) -> Any:
    return {"touchpoints": records(scores.touchpoints(served.wh, as_of, channel))}


# Every GET answers HEAD too, as Starlette's routes do; the document lists the GETs.
for _route in [r for r in router.routes if isinstance(r, APIRoute)]:
    router.add_api_route(
        _route.path,
        _route.endpoint,
        methods=["HEAD"],
        include_in_schema=False,
        dependencies=_route.dependencies,
        response_model=_route.response_model,
        response_model_exclude_unset=_route.response_model_exclude_unset,
    )


# -- the app --------------------------------------------------------------------------------------------------


def create_app(
    warehouse: Warehouse | str,
    tokens: Tokens,
    schema: str | None = None,
    currency: str = DEFAULT_CURRENCY,
    access_folder: str | os.PathLike[str] | None = None,
) -> FastAPI:
    """The app serving ``warehouse``: a Warehouse the caller opened (read-only, see
    `cxdata.serve.access.open_read_only`) and disposes, or a URL the app opens read-only and disposes on shutdown;
    money in segment members is labelled ``currency``; accesses to personal data are recorded in the outbox in
    ``access_folder`` (`cxdata.privacy.access_log`), without which they are refused (503).
    """
    owned = isinstance(warehouse, str)
    wh = open_read_only(warehouse, schema) if isinstance(warehouse, str) else warehouse

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            wh.dispose()

    app = FastAPI(
        title="cxdata",
        version="1",
        description=(
            f"Scored segments, customer scores and touchpoints, read-only. Bearer tokens: {API_TOKEN_ENV} "
            f"reads everything but personal data; {PII_TOKEN_ENV} also reads contacts and looks customers up by "
            f"email or customer_ref (scope {PERSONAL})."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.tokens = tokens
    app.state.served = ServedState(wh, currency, pii_access.AccessLog(access_folder))
    app.add_api_route("/healthz", _healthz, response_model=Health, operation_id="health", summary="Liveness")
    app.add_api_route("/healthz", _healthz, methods=["HEAD"], include_in_schema=False)
    app.include_router(router)
    add_error_handlers(app)
    redact_access_log()
    return app


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
