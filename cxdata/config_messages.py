"""Config error messages that help without leaking: they name the file and key, and show a value only when it
cannot be a secret.

A value is never shown for an unknown (usually misspelled) key, whose meaning
cannot be known, nor for a key whose name suggests a secret. A value that came
from ``${VAR}`` expansion is shown as written in the file, so the variable's
content (often a password or token) stays out of the message. Every other value
has the passwords of any URLs in it masked.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@]*@")
_SECRET_WORDS = r"pass(?:word|wd)?|pwd|secret|token|api_?key|access_?key|private_?key|credentials?"
_QUERY_SECRET = re.compile(rf"(?P<head>(?:^|[?&;\s])(?:ssl)?(?:{_SECRET_WORDS})=)[^&;\s]*", re.IGNORECASE)
_SECRET_KEY = re.compile(rf"(?:{_SECRET_WORDS}|dsn|auth)", re.IGNORECASE)
_WIDTH = 120

Location = tuple[str, ...]


def mask_secrets(text: str) -> str:
    """``text`` with URL passwords (``scheme://user:PASSWORD@``) and ``password=``-style query values masked."""
    return _QUERY_SECRET.sub(rf"\g<head>{MASK}", _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text))


def redact_url(url: str) -> str:
    """The URL with any password hidden, safe for logs and messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: show nothing of it
        return "<unparseable url>"


def shown_value(key: Location, value: Any, written: Mapping[Location, str]) -> str:
    """The part of a message that shows ``value`` of ``key``: `` (value '...')``, or nothing when it may be
    secret. ``written`` maps keys whose value was expanded from ``${VAR}`` to the text in the file."""
    if isinstance(value, (dict, list)) or (key and _SECRET_KEY.search(key[-1])):
        return ""
    if key in written:
        return f" (value {_cut(mask_secrets(written[key]))!r} in the file, variables not shown)"
    return f" (value {_cut(mask_secrets(str(value)))!r})"


def describe(exc: ValidationError, file: Path, model: type[BaseModel], written: Mapping[Location, str]) -> str:
    """One line per validation error of ``model``: file, dotted key, what is wrong, and the value when safe."""
    lines = []
    for err in exc.errors():
        key = tuple(str(part) for part in err["loc"])
        dotted = mask_secrets(".".join(key)) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{file}: key {dotted!r}: unknown key{_suggestion(model, key)}")
            continue
        lines.append(f"{file}: key {dotted!r}: {err['msg']}{shown_value(key, err.get('input'), written)}")
    return "\n".join(lines)


def _suggestion(model: type[BaseModel], key: Location) -> str:
    known = known_keys(model, key[:-1])
    if not known:
        return ""
    close = difflib.get_close_matches(key[-1], known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known keys here: {', '.join(known)}"


def known_keys(model: type[BaseModel], key: Sequence[str]) -> list[str]:
    """The keys a config may have under ``key`` (a path of field names, mapping keys and list indexes)."""
    current: Any = model
    for part in key:
        current = _unwrap(current)
        if _is_model(current):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]  # ``part`` is a mapping key or a list index
        else:
            return []
    current = _unwrap(current)
    if not _is_model(current):
        return []
    return [name for name, field in current.model_fields.items() if not field.exclude]


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            return _unwrap(inner[0])
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _cut(text: str) -> str:
    return text if len(text) <= _WIDTH else text[:_WIDTH] + "…"
