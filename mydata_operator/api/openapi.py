"""Our JSON Schemas as OpenAPI 3.0 schema objects, for the generated API description.

The JSON Schemas (draft 2020-12) stay the one source of truth and still validate every body;
this inlines their $refs and drops what OpenAPI 3.0 cannot say (if/then/else, $defs,
`examples`), so the published description needs nothing from outside.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

import schemas

from .problems import PROBLEM

BASE = "https://schemas.tahto.fi/"
DROP = frozenset({"$schema", "$id", "$defs", "if", "then", "else", "examples", "not"})


def _resolve(ref: str, current: str) -> tuple[dict[str, Any], str]:
    document, _, pointer = ref.partition("#")
    name = document.removeprefix(BASE).removesuffix(".json") if document else current
    node: Any = schemas.get(name)
    for part in [p for p in pointer.split("/") if p]:
        node = node[part]
    return node, name


def openapi_schema(name: str) -> dict[str, Any]:
    """The named JSON Schema, self-contained and in the OpenAPI 3.0 subset."""

    def convert(node: Any, current: str, depth: int = 0) -> Any:
        if depth > 40:  # our schemas are not recursive; stop a mistake from looping
            return {}
        if isinstance(node, list):
            return [convert(item, current, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target, where = _resolve(node["$ref"], current)
            merged = {**convert(target, where, depth + 1)}
            for key, value in node.items():
                if key != "$ref" and key not in DROP:
                    merged[key] = convert(value, current, depth + 1)
            return merged
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in DROP:
                continue
            if key == "const":
                out["enum"] = [value]
                continue
            out[key] = convert(value, current, depth + 1)
        return out

    return dict(convert(schemas.get(name), name))


class ProblemErrorSerializer(serializers.Serializer):
    pointer = serializers.CharField(help_text="JSON pointer (RFC 6901) to the field that is wrong")
    message = serializers.CharField(help_text="What is wrong with it")
    keyword = serializers.CharField(required=False, help_text="The JSON Schema keyword that failed")


ProblemSerializer = inline_serializer(
    "Problem",
    {
        "type": serializers.CharField(help_text="URI naming the kind of problem (RFC 9457)"),
        "title": serializers.CharField(help_text="Short summary of the problem"),
        "status": serializers.IntegerField(help_text="The HTTP status code"),
        "code": serializers.CharField(help_text="Stable machine-readable code, e.g. withdrawn"),
        "detail": serializers.CharField(
            required=False, help_text="Explanation for this occurrence"
        ),
        "reason": serializers.CharField(
            required=False, help_text="Policy decision reason code, when a consent decided"
        ),
        "consentId": serializers.UUIDField(
            required=False, help_text="The consent that decided, when one did"
        ),
        "stepUp": serializers.CharField(
            required=False,
            help_text="With step-up-required: the page where the person confirms it is them "
            "(password or authenticator code); then repeat the request",
        ),
        # "errors" would shadow Serializer.errors on a class; inline_serializer allows it.
        "errors": ProblemErrorSerializer(many=True, required=False, help_text="Field errors"),
    },
)


PROBLEM_TEXT = {
    400: "The request is malformed",
    401: "Missing or bad credentials (client credentials or bearer token)",
    403: "Not permitted; the body names the reason (`step-up-required`: the person must "
    "confirm it is them at `stepUp` first)",
    404: "No such resource, or not yours",
    409: "The consent's state does not allow this",
    413: "The body is larger than the service accepts",
    422: "The body is not valid; errors name each field",
    429: "Too many requests; wait the seconds Retry-After names",
    502: "The national archive (Kanta) did not answer; nothing was delivered",
}


def problem_responses(*codes: int) -> dict[Any, Any]:
    """OpenAPI responses for the problem+json errors an operation can answer."""
    return {
        (c, PROBLEM): OpenApiResponse(ProblemSerializer, description=PROBLEM_TEXT[c]) for c in codes
    }
