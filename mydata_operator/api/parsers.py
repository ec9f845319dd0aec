"""A JSON parser whose errors say where the JSON broke (line and column)."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

import schemas


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return schemas.parse_json(raw)
        except schemas.SchemaValidationError as exc:
            raise ParseError(exc.errors[0]["message"]) from exc
