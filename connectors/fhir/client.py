"""A small FHIR R4 REST client, shared by the counterparts that speak FHIR (Kanta, providers)."""

from __future__ import annotations

from typing import Any

import requests

from ..base import ConnectorError
from ..http import pooled_session, request_json
from ..subjects import HETU_SYSTEM


class FhirClient:
    """Search, create (conditional on an identifier) and update, over JSON, at `base_url`,
    on this thread's pooled HTTP session (kept-alive connections) unless given another."""

    def __init__(
        self,
        base_url: str,
        timeout: float | None = None,
        session: requests.Session | None = None,
    ):
        if not base_url:
            raise ConnectorError("no FHIR base URL configured for this counterpart", True)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or pooled_session()

    def search(self, resource_type: str, **params: str) -> list[dict[str, Any]]:
        """Every resource of a searchset Bundle (the stand-in answers in one page)."""
        _, bundle = request_json(
            "GET",
            f"{self.base_url}/{resource_type}",
            params=params,
            timeout=self.timeout,
            session=self.session,
        )
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise ConnectorError(f"search {resource_type} did not answer with a Bundle")
        return [e["resource"] for e in bundle.get("entry") or [] if "resource" in e]

    def search_patient(self, resource_type: str, hetu: str) -> list[dict[str, Any]]:
        param = "identifier" if resource_type == "Patient" else "patient"
        return self.search(resource_type, **{param: f"{HETU_SYSTEM}|{hetu}"})

    def create(self, resource: dict[str, Any], *, identifier: str | None = None) -> dict[str, Any]:
        """POST; with `identifier` ("system|value") the server stores it at most once."""
        headers = {"If-None-Exist": f"identifier={identifier}"} if identifier else {}
        _, stored = request_json(
            "POST",
            f"{self.base_url}/{resource['resourceType']}",
            body=resource,
            headers=headers,
            timeout=self.timeout,
            session=self.session,
        )
        return _resource(stored)

    def update(self, resource: dict[str, Any]) -> dict[str, Any]:
        """PUT by id: create or replace (idempotent)."""
        _, stored = request_json(
            "PUT",
            f"{self.base_url}/{resource['resourceType']}/{resource['id']}",
            body=resource,
            timeout=self.timeout,
            session=self.session,
        )
        return _resource(stored)


def _resource(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or "resourceType" not in body:
        raise ConnectorError("the FHIR server answered without a resource")
    return body
