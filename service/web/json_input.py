"""Strict JSON request bodies: what the API accepts as JSON, checked before anyone is authenticated.

Python's ``json`` module accepts what no JSON parser elsewhere does (``NaN``, ``Infinity``, ``1e999``
as infinity), recurses once per nesting level (a 1 KB body of brackets exhausts the stack), and
turns digit strings of any length into integers that no database column stores. Every request
body is parsed here instead, once, and a body breaking a rule is a 400 naming the rule.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider

from service.errors import ValidationError
from service.web.app_runtime import current_runtime

#: Deepest nesting of arrays and objects a body may have.
MAX_DEPTH = 64
#: Integers must fit a signed 64-bit column.
MAX_INTEGER = 2**63 - 1


class JSONInputError(ValueError):
    """A request body that is not JSON we accept; the message names the problem."""


def _constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not valid JSON: send a number or null.")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_INTEGER:
        raise JSONInputError(f"The integer {text[:20]}… is too large: integers must fit in 64 bits.")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"The number {text[:20]} is too large to store.")
    return value


def check_depth(text: str) -> None:
    """Raise JSONInputError when arrays and objects nest deeper than MAX_DEPTH (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise JSONInputError(f"The body nests arrays and objects deeper than {MAX_DEPTH} levels.")
        elif char in "]}":
            depth -= 1


def parse_json(data: str | bytes) -> Any:
    """Parse a request body strictly; raises JSONInputError (a ValueError) naming the problem."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError:
        raise JSONInputError("The body is not UTF-8.") from None
    check_depth(text)
    try:
        return json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except JSONInputError:
        raise
    except ValueError as exc:
        raise JSONInputError(f"The body is not valid JSON: {exc}") from None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with ``loads`` (``request.get_json``) parsing as ``parse_json`` does."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def refuse_bad_json() -> None:
    """Before any authentication: a JSON body we would not accept is a 400 on ``body``."""
    if not (request.path.startswith("/api/") and request.is_json):
        return
    limit = current_runtime().settings.input_max_bytes
    if (request.content_length or 0) > limit:
        raise ValidationError({"body": [f"The body is {request.content_length} bytes; "
                                        f"at most {limit} are accepted (input_max_bytes)."]})
    data = request.get_data(cache=True)
    if data:
        try:
            parse_json(data)
        except JSONInputError as exc:
            raise ValidationError({"body": [str(exc)]}) from None
