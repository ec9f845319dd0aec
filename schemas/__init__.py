"""Tahto's machine-readable contracts: versioned JSON Schemas, loaded and checked in one place.

Every schema lives in this package as ``<name>.json`` (e.g. ``consent-kinds/biobank.v1``) with
``$id`` ``https://schemas.tahto.fi/<name>.json``; schemas refer to each other by that URI
through one ``referencing.Registry``. Errors come back all at once, each with the JSON
pointer (RFC 6901) of the field, a message a person can act on, and the failing keyword.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypedDict

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .hetu import InvalidHetu, parse_hetu

__all__ = [
    "BASE_URI",
    "FORMAT_CHECKER",
    "KIND_SCHEMAS",
    "SchemaValidationError",
    "ValidationIssue",
    "codes",
    "collect_errors",
    "duo_vocabulary",
    "get",
    "kind_schema",
    "names",
    "parse_json",
    "validate",
]

BASE_URI = "https://schemas.tahto.fi/"

_KIND_SCHEMA_FILE = re.compile(r"^(?P<kind>[a-z][a-z0-9-]*)\.v(?P<version>[1-9][0-9]*)\.json$")


def _kind_schemas() -> dict[str, str]:
    """The newest scope schema of each consent kind, from the files in consent-kinds/."""
    newest: dict[str, tuple[int, str]] = {}
    for entry in resources.files(__name__).joinpath("consent-kinds").iterdir():
        match = _KIND_SCHEMA_FILE.match(entry.name)
        if match:
            kind, version = match["kind"], int(match["version"])
            if version > newest.get(kind, (0, ""))[0]:
                newest[kind] = (version, f"consent-kinds/{kind}.v{version}")
    return {kind: name for kind, (_, name) in sorted(newest.items())}


#: The current scope schema of each consent kind (a kind's schema file is all it takes).
KIND_SCHEMAS: dict[str, str] = _kind_schemas()

#: Folders of this package that hold data, not schemas.
_DATA_FOLDERS = ("vocab",)


class ValidationIssue(TypedDict):
    """One problem in a checked document."""

    pointer: str
    message: str
    keyword: str


class SchemaValidationError(Exception):
    """A document broke its schema (or was not JSON); `.errors` lists every problem."""

    def __init__(self, errors: list[ValidationIssue]):
        self.errors = errors
        super().__init__(errors)

    def __str__(self) -> str:
        count = len(self.errors)
        lines = [f"{count} validation error{'s' if count != 1 else ''}:"]
        for e in self.errors:
            lines.append(f"  {e['pointer'] or '(root)'}: {e['message']} [{e['keyword']}]")
        return "\n".join(lines)


# --- formats ------------------------------------------------------------------------------

FORMAT_CHECKER = FormatChecker(formats=())

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(instance: object) -> bool:
    """RFC 3339 date-time with a time zone (Z or ±hh:mm); upper-case T and Z, no leap second."""
    if not isinstance(instance, str):
        return True
    match = _DATE_TIME.match(instance)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    dt.datetime(year, month, day, hour, minute, second)  # raises ValueError on 2025-02-30
    offset_ok = match.group(8) == "Z" or (int(match.group(9)) <= 23 and int(match.group(10)) <= 59)
    return offset_ok


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(instance: object) -> bool:
    """RFC 3339 full-date YYYY-MM-DD."""
    if not isinstance(instance, str):
        return True
    return bool(_DATE.match(instance)) and dt.date.fromisoformat(instance) is not None


@FORMAT_CHECKER.checks("uuid")
def _is_uuid(instance: object) -> bool:
    """A UUID in its hyphenated form."""
    return not isinstance(instance, str) or bool(_UUID.match(instance))


@FORMAT_CHECKER.checks("fi-hetu", raises=InvalidHetu)
def _is_hetu(instance: object) -> bool:
    """A Finnish personal identity code with the right control character."""
    if isinstance(instance, str):
        parse_hetu(instance)
    return True


# --- loading ------------------------------------------------------------------------------


def _walk(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".json"):
            yield f"{prefix}{entry.name[: -len('.json')]}", entry


@functools.cache
def _load() -> tuple[dict[str, dict[str, Any]], dict[str, Any], Registry]:
    """Read every JSON file of the package once: schemas, data files, and the registry."""
    schemas: dict[str, dict[str, Any]] = {}
    data: dict[str, Any] = {}
    for name, entry in _walk(resources.files(__name__)):
        document = json.loads(entry.read_text(encoding="utf-8"))
        if name.split("/", 1)[0] in _DATA_FOLDERS:
            data[name] = document
            continue
        expected_id = f"{BASE_URI}{name}.json"
        if document.get("$id") != expected_id:
            raise RuntimeError(f"schema {name} must have $id {expected_id}")
        schemas[name] = document
    registry: Registry = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in schemas.values()
    )
    return schemas, data, registry.crawl()


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    schemas, _, registry = _load()
    return Draft202012Validator(schemas[name], registry=registry, format_checker=FORMAT_CHECKER)


def _normalise(name: str) -> str:
    name = name.removesuffix(".json").removeprefix(BASE_URI)
    if name not in _load()[0]:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(names())}")
    return name


def names() -> list[str]:
    """Names of all schemas, e.g. ``consent-kinds/biobank.v1``."""
    return sorted(_load()[0])


def get(name: str) -> dict[str, Any]:
    """The schema `name` (a copy: changing it changes nothing here)."""
    return copy.deepcopy(_load()[0][_normalise(name)])


def kind_schema(kind: str) -> str:
    """Name of the current scope schema of a consent kind."""
    try:
        return KIND_SCHEMAS[kind]
    except KeyError:
        raise KeyError(
            f"unknown consent kind {kind!r}; known: {', '.join(sorted(KIND_SCHEMAS))}"
        ) from None


def duo_vocabulary() -> dict[str, dict[str, str]]:
    """DUO codes Tahto knows: code -> {id, label, type (permission|modifier), definition}."""
    return copy.deepcopy(_load()[1]["vocab/duo.v1"]["codes"])


def codes(definition: str) -> tuple[str, ...]:
    """The codes of one vocabulary of the common definitions (e.g. "selfProducedCategory")."""
    return tuple(_load()[0]["common/definitions.v1"]["$defs"][definition]["enum"])


# --- checking -----------------------------------------------------------------------------


def validate(name: str, instance: object, *, prefix: str = "") -> None:
    """Check `instance` against schema `name`; raise SchemaValidationError listing every error.

    `prefix` is the JSON pointer of `instance` inside the whole request body (e.g. "/scope"),
    so that the pointers in the errors point into the body.
    """
    errors = collect_errors(name, instance, prefix=prefix)
    if errors:
        raise SchemaValidationError(errors)


def collect_errors(name: str, instance: object, *, prefix: str = "") -> list[ValidationIssue]:
    """Every error of `instance` against schema `name`, sorted by pointer; [] when valid.

    Lets a caller check a body and its nested scope and report both lists together.
    """
    base = _parse_pointer(prefix)
    issues: list[ValidationIssue] = []
    for error in _validator(_normalise(name)).iter_errors(instance):
        issues.extend(_issues(error, base))
    unique = {(i["pointer"], i["keyword"], i["message"]): i for i in issues}
    return [unique[key] for key in sorted(unique)]


def parse_json(raw: bytes | str) -> object:
    """Parse a JSON body strictly (UTF-8, no duplicate keys, no NaN) or raise the error."""

    def fail(message: str) -> SchemaValidationError:
        return SchemaValidationError([{"pointer": "", "message": message, "keyword": "json"}])

    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"The body is not UTF-8 text (invalid byte at offset {exc.start})."
            raise fail(message) from None
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise fail(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except _DuplicateKey as exc:
        raise fail(f"The body is not valid JSON for Tahto: {exc}.") from None
    except RecursionError:
        raise fail("The body is not valid JSON for Tahto: it is nested too deeply.") from None


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise _DuplicateKey(f"{name} is not a JSON number")


# --- turning jsonschema errors into issues ------------------------------------------------


def _parse_pointer(pointer: str) -> list[str | int]:
    if pointer in ("", "/"):
        return [] if pointer == "" else [""]
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/', got {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in path)


def _label(path: list[str | int]) -> str:
    """A field's name as a person reads it: scope.dataCategories[1]."""
    if not path:
        return "The body"
    out = ""
    for token in path:
        out += f"[{token}]" if isinstance(token, int) else (f".{token}" if out else str(token))
    return out


def _show(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


#: Schema keywords whose children are names, not keywords.
_NAME_KEYWORDS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


def _reason(error: ValidationError) -> str:
    """The schema's own explanation, for errors raised by a conditional (if/then/else) or `not`."""
    tokens = [str(t) for t in error.relative_schema_path]
    conditional = any(
        t in ("then", "else") and (i == 0 or tokens[i - 1] not in _NAME_KEYWORDS)
        for i, t in enumerate(tokens)
    )
    if (conditional or error.validator == "not") and isinstance(error.schema, dict):
        description = error.schema.get("description")
        if description:
            return f" {description}"
    return ""


def _issues(error: ValidationError, base: list[str | int]) -> list[ValidationIssue]:
    path = base + list(error.absolute_path)
    keyword = str(error.validator) if error.validator is not None else "false"
    instance, value, schema = error.instance, error.validator_value, error.schema
    schema = schema if isinstance(schema, dict) else {}
    label = _label(path)
    reason = _reason(error)

    def issue(message: str, at: list[str | int] = path) -> ValidationIssue:
        return {"pointer": _pointer(at), "message": message, "keyword": keyword}

    if keyword == "required":
        missing = next((p for p in value if error.message == f"{p!r} is a required property"), None)
        missing = missing if missing is not None else next(p for p in value if p not in instance)
        at = [*path, missing]
        return [issue(f"{_label(at)} is required.{reason}", at)]
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        known = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extras = [
            k for k in instance if k not in known and not any(re.search(p, k) for p in patterns)
        ]
        allowed = ", ".join(known) or "none"
        return [
            issue(f"{_label([*path, k])} is not a known field (allowed here: {allowed}).", at)
            for k in extras
            for at in [[*path, k]]
        ]
    return [issue(_message(keyword, label, instance, value, schema, error) + reason)]


def _message(
    keyword: str,
    label: str,
    instance: Any,
    value: Any,
    schema: dict[str, Any],
    error: ValidationError,
) -> str:
    if keyword == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
        return f"{label} must be {expected}, not {_json_type(instance)}."
    if keyword == "enum":
        options = ", ".join(_show(v) for v in value)
        return f"{label} must be one of {options}; got {_show(instance)}."
    if keyword == "const":
        return f"{label} must be {_show(value)}; got {_show(instance)}."
    if keyword == "format":
        return _format_message(value, label, instance, error)
    if keyword == "pattern":
        title = schema.get("title", "")
        # "Organisation identifier" reads as "organisation identifier"; "ICD-10 code" stays.
        what = title[:1].lower() + title[1:] if title[1:2].islower() else title
        what = what or f"value (pattern {value})"
        example = f" such as {schema['examples'][0]}" if schema.get("examples") else ""
        return f"{label} is not a valid {what}{example}; got {_show(instance)}."
    if keyword == "minLength":
        if value == 1:
            return f"{label} must not be empty."
        return f"{label} must have at least {value} characters."
    if keyword == "maxLength":
        return f"{label} must have at most {value} characters; it has {len(instance)}."
    if keyword == "minItems":
        if value == 1:
            return f"{label} must list at least one item."
        return f"{label} must list at least {value} items."
    if keyword == "maxItems":
        if value == 0:
            return f"{label} must be empty."
        return f"{label} must list at most {value} items; it lists {len(instance)}."
    if keyword == "uniqueItems":
        duplicate = next((v for i, v in enumerate(instance) if v in instance[:i]), None)
        return f"{label} lists {_show(duplicate)} more than once."
    if keyword == "minimum":
        return f"{label} must be at least {value}; got {_show(instance)}."
    if keyword == "maximum":
        return f"{label} must be at most {value}; got {_show(instance)}."
    if keyword == "exclusiveMinimum":
        return f"{label} must be greater than {value}; got {_show(instance)}."
    if keyword == "exclusiveMaximum":
        return f"{label} must be less than {value}; got {_show(instance)}."
    if keyword == "minProperties":
        return f"{label} must have at least {value} field{'s' if value != 1 else ''}."
    if keyword == "contains":
        if isinstance(value, dict) and "const" in value:
            return f"{label} must include {_show(value['const'])}."
        return f"{label} must include at least one matching item."
    if keyword == "not":
        if isinstance(instance, dict | list) or value == {}:
            return f"{label} is not allowed here."
        return f"{label} may not be {_show(instance)}."
    if keyword in ("oneOf", "anyOf"):
        inner = best_match(error.context or [])
        detail = f" Closest: {inner.message}." if inner is not None else ""
        return f"{label} does not match any of the allowed forms.{detail}"
    if keyword == "false":
        return f"{label} is not allowed here."
    return f"{label}: {error.message}."


def _format_message(fmt: str, label: str, instance: Any, error: ValidationError) -> str:
    if fmt == "fi-hetu":
        # Never echo the code itself: it is personal data and error bodies end up in logs.
        cause = f": {error.cause}" if error.cause else ""
        return f"{label} is not a valid Finnish personal identity code{cause}."
    if fmt == "date-time":
        return (
            f"{label} must be an RFC 3339 date-time with a time zone, "
            f"e.g. 2025-01-31T09:30:00+02:00 or 2025-01-31T07:30:00Z; got {_show(instance)}."
        )
    if fmt == "date":
        return f"{label} must be a date YYYY-MM-DD; got {_show(instance)}."
    if fmt == "uuid":
        example = "3f2c0a9e-6b1d-4c8e-9a57-1d2e3f4a5b6c"
        return f"{label} must be a UUID such as {example}; got {_show(instance)}."
    return f"{label} must be a valid {fmt}; got {_show(instance)}."
