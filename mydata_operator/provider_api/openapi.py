"""Our JSON Schemas as OpenAPI 3.0 schema objects, for the generated API description.

The JSON Schemas (draft 2020-12) stay the one source of truth and still validate every body;
this inlines their $refs and drops what OpenAPI 3.0 cannot say (if/then/else, $defs,
`examples`), so the published description needs nothing from outside.
"""

from typing import Any

import schemas

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
