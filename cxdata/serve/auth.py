"""Bearer tokens for `cxdata serve` and the scopes each one grants.

Two environment variables hold the tokens; each may list several, separated by
commas, so a token can be rotated without downtime:

* ``CXDATA_API_TOKEN`` — scope ``read``: segments, members with their scores,
  customer scores, touchpoints. Never personal data.
* ``CXDATA_API_PII_TOKEN`` — scopes ``read`` and ``personal``: also the
  members' contacts (``contacts=raw`` or ``contacts=hashed``) and the lookup
  of a customer by email or customer_ref.

Clients send ``Authorization: Bearer <token>``, read by `granted`
(`cxdata.serve.api` declares it as the OpenAPI ``bearer`` scheme). Tokens are
compared with ``hmac.compare_digest`` against every configured token. A token shorter than
MIN_TOKEN_LENGTH characters is refused at start-up. With no token configured
the server only starts with ``insecure_local`` (``--insecure-local``), bound to
a loopback address, and then grants ``read`` — never ``personal`` — to anyone.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cxdata.errors import CxdataError

API_TOKEN_ENV = "CXDATA_API_TOKEN"
PII_TOKEN_ENV = "CXDATA_API_PII_TOKEN"
READ = "read"
PERSONAL = "personal"
MIN_TOKEN_LENGTH = 24
# Query parameters whose values are personal data: never logged, never repeated in an error.
PERSONAL_PARAMETERS = ("email", "customer_ref")


class AuthConfigError(CxdataError):
    """The tokens configured for the server are missing or unusable."""


@dataclass(frozen=True)
class Tokens:
    """The accepted tokens, each with its scopes; ``open_read`` grants read to requests without a token."""

    granted: tuple[tuple[bytes, frozenset[str]], ...] = ()
    open_read: bool = False

    def scopes_for(self, token: str) -> frozenset[str] | None:
        """The scopes ``token`` grants, or None when it is not a configured token."""
        presented = token.encode()
        found: frozenset[str] | None = None
        for candidate, scopes in self.granted:
            # Compare against every token so the time taken does not tell which one nearly matched.
            if hmac.compare_digest(presented, candidate) and found is None:
                found = scopes
        return found


def tokens_from_env(
    environ: Mapping[str, str] | None = None, insecure_local: bool = False, host: str = "127.0.0.1"
) -> Tokens:
    """The Tokens of CXDATA_API_TOKEN and CXDATA_API_PII_TOKEN; AuthConfigError when there are none (unless
    ``insecure_local`` on a loopback ``host``) or one is too short."""
    env = os.environ if environ is None else environ
    granted: list[tuple[bytes, frozenset[str]]] = []
    for variable, scopes in ((API_TOKEN_ENV, {READ}), (PII_TOKEN_ENV, {READ, PERSONAL})):
        for token in (part.strip() for part in env.get(variable, "").split(",")):
            if not token:
                continue
            if len(token) < MIN_TOKEN_LENGTH:
                raise AuthConfigError(
                    f"a token in {variable} is {len(token)} characters long; use at least {MIN_TOKEN_LENGTH} "
                    "random characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
            granted.append((token.encode(), frozenset(scopes)))
    if granted:
        return Tokens(tuple(granted))
    if not insecure_local:
        raise AuthConfigError(
            f"no API token configured: set {API_TOKEN_ENV} (and {PII_TOKEN_ENV} for access to contacts), "
            "or pass --insecure-local to serve without authentication on a loopback address"
        )
    if not _is_loopback(host):
        raise AuthConfigError(f"--insecure-local only binds to a loopback address (127.0.0.1, ::1), not {host!r}")
    return Tokens(open_read=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AuthError(CxdataError):
    """A request's Authorization header is malformed or carries no configured token (answered 401)."""


def granted(tokens: Tokens, header: str | None) -> frozenset[str]:
    """The scopes a request with Authorization ``header`` has: none without one (``read`` when ``open_read``),
    those of its bearer token; AuthError for a malformed header or an unknown token."""
    if header is None:
        return frozenset({READ}) if tokens.open_read else frozenset()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    scopes = tokens.scopes_for(token.strip())
    if scopes is None:
        raise AuthError("invalid token")
    return scopes
