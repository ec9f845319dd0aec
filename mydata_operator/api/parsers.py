"""A JSON parser whose errors say where the JSON broke (line and column), and the parsing of
date-time fields that names the field when one is wrong."""

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

import schemas
from consents.errors import invalid


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return schemas.parse_json(raw)
        except schemas.SchemaValidationError as exc:
            raise ParseError(exc.errors[0]["message"]) from exc


def datetime_field(value: str | None, pointer: str) -> datetime | None:
    """An RFC 3339 date-time with a time zone, or None; raise naming `pointer` otherwise."""
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise invalid(pointer, f"{value!r} is not a date-time with a time zone (RFC 3339).")
    return parsed
