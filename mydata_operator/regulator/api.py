"""The regulator's JSON API under /regulator/api/: the same reads as the pages, as JSON.

GET only, for signed-in regulators (session authentication). Errors are RFC 9457
problem+json naming the query parameter. Every query is logged as an `audit.query` entry.
Reads come from the database replica when one is configured, as the pages' do.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consents import keys, merkle
from consents import log as consent_log
from consents.models import LogEntry, TreeHead
from mydata_operator.api.openapi import problem_responses
from mydata_operator.replica import reads_from_replica

from . import selectors, services
from .access import IsRegulator, regulator_for
from .export import b64
from .filters import (
    MAX_SEQ,
    CursorError,
    LogFilterForm,
    filter_query,
    form_errors,
    parse_cursor,
    parse_limit,
)


def entry_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "event_type": entry.event_type,
        "occurred_at": consent_log.iso(entry.occurred_at),
        "subject_id": entry.subject_id,
        "actor_id": entry.actor_id,
        "consent_id": entry.consent_id,
        "consent_lineage": entry.consent_lineage,
        "kind": entry.kind,
        "recipient": entry.recipient,
        "purpose": entry.purpose,
        "outcome": entry.outcome,
        "entry": entry.entry,
        "leaf_hash": b64(bytes(entry.leaf_hash)),
    }


class InvalidFilter(ValidationError):
    status_code = 422
    default_code = "invalid_filter"


def _filter(request: Request) -> Any:
    form = LogFilterForm(request.query_params)
    if not form.is_valid():
        raise InvalidFilter({e["pointer"].lstrip("/"): e["message"] for e in form_errors(form)})
    return form.log_filter()


class RegulatorApi(APIView):
    """Base of the regulator's API: who the regulator is is read from the primary (before
    the `get`, whose reads come from the replica when one is configured)."""

    permission_classes = [IsRegulator]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self._regulator = regulator_for(request.user)

    def regulator(self, request: Request) -> Any:
        assert self._regulator is not None  # IsRegulator let the request through
        return self._regulator


class LogEntrySearchApi(RegulatorApi):
    """Matching entries, newest first; follow `next` (older) and `previous` (newer)."""

    @extend_schema(
        summary="Search log entries (keyset pagination on seq)",
        operation_id="regulator_entries_search",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    @reads_from_replica
    def get(self, request: Request) -> Response:
        f = _filter(request)
        try:
            before = parse_cursor(request.query_params.get("before"), "before")
            after = parse_cursor(request.query_params.get("after"), "after")
            limit = parse_limit(request.query_params.get("limit"))
        except CursorError as exc:
            raise InvalidFilter({"cursor": str(exc)}) from None
        services.audit_query_log(
            regulator=self.regulator(request),
            action="search",
            query={**f.as_audit(), "before": before, "after": after, "limit": limit},
        )
        page = selectors.entries_page(f, before=before, after=after, limit=limit)
        base = reverse("regulator:api-entries")
        q = request._request  # the Django request, for its GET
        return Response(
            {
                "items": [entry_json(e) for e in page.entries],
                "next": f"{base}?{filter_query(q, before=page.older, limit=limit)}"
                if page.older is not None
                else None,
                "previous": f"{base}?{filter_query(q, after=page.newer, limit=limit)}"
                if page.newer is not None
                else None,
            }
        )


class LogEntryDetailApi(RegulatorApi):
    """One entry with its inclusion proof and, for a decision, the consent that decided."""

    @extend_schema(
        summary="One log entry with its inclusion proof and the consent that decided",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    @reads_from_replica
    def get(self, request: Request, seq: int) -> Response:
        if seq > MAX_SEQ:
            raise Http404
        services.audit_query_log(
            regulator=self.regulator(request), action="entry", query={"seq": seq}
        )
        entry = LogEntry.objects.filter(leaf__seq=seq).first()
        if entry is None:
            raise Http404
        head = consent_log.tree_head_sign()
        proof = consent_log.inclusion_proof(seq=seq, tree_size=head.tree_size)
        decided = selectors.consent_at_decision(entry)
        return Response(
            {
                **entry_json(entry),
                "tree_head": consent_log.tree_head_json(head),
                "inclusion_proof": [b64(h) for h in proof],
                "verified": merkle.verify_entry_inclusion(
                    entry.entry.encode("utf-8"),
                    seq,
                    head.tree_size,
                    proof,
                    bytes(head.root_hash),
                ),
                "decided_by": {
                    "consent_id": decided.consent_id,
                    "consent_lineage": decided.lineage,
                    "consent_version": decided.version,
                    "consent_state_entry": decided.last_event.seq if decided.last_event else None,
                    "consent_state": decided.last_event.event_type if decided.last_event else None,
                    "decision_seq": decided.decision_seq,
                    "history": reverse("regulator:api-consent", args=[decided.lineage]),
                }
                if decided
                else None,
            }
        )


class ConsentHistoryApi(RegulatorApi):
    """Every version of a consent, its events and the decisions made under it."""

    @extend_schema(
        summary="A consent's whole history, all versions",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    @reads_from_replica
    def get(self, request: Request, consent: UUID) -> Response:
        services.audit_query_log(
            regulator=self.regulator(request), action="consent", query={"consent": consent}
        )
        history = selectors.consent_history(consent)
        if history is None:
            raise Http404
        return Response(
            {
                "lineage": history.lineage,
                "versions": [
                    {
                        "id": c.id,
                        "version": c.version,
                        "kind": c.kind,
                        "status": c.status,
                        "provision": c.provision,
                        "scope": c.scope,
                        "valid_from": consent_log.iso(c.valid_from),
                        "valid_until": consent_log.iso(c.valid_until) if c.valid_until else None,
                    }
                    for c in history.versions
                ],
                "events": [entry_json(e) for e in history.events],
                "decisions": [entry_json(e) for e in history.decisions],
                "more_decisions": history.more_decisions,
            }
        )


class StatisticsApi(RegulatorApi):
    @extend_schema(
        summary="Consent and decision statistics per kind and provider",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    @reads_from_replica
    def get(self, request: Request) -> Response:
        f = _filter(request)
        services.audit_query_log(
            regulator=self.regulator(request), action="statistics", query=f.as_audit()
        )
        stats = selectors.statistics(f)
        return Response(
            {
                "unit": stats.unit,
                "periods": stats.periods,
                "consents": stats.consents,
                "decisions": [
                    {"provider": oid, "name": name, "permit": p, "deny": d}
                    for oid, name, p, d in stats.decisions
                ],
                "requests": [
                    {"provider": oid, "name": name, "requests": n}
                    for oid, name, n in stats.requests
                ],
            }
        )


class TreeHeadCheckApi(RegulatorApi):
    """The current signed tree head and whether it extends the newest witnessed checkpoint."""

    @extend_schema(
        summary="The latest signed tree head, checked against the newest witnessed checkpoint",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    @reads_from_replica
    def get(self, request: Request) -> Response:
        check = services.tree_head_check()
        return Response(
            {
                "tree_head": consent_log.tree_head_json(check.head),
                "previous_size": check.previous_size,
                "witness": (check.witnessed.witness.label or check.witnessed.witness.name)
                if check.witnessed
                else None,
                "consistent": check.ok,
                "message": check.message,
            }
        )


class TreeHeadApi(RegulatorApi):
    """A stored signed tree head of the given size (the head an export is pinned to)."""

    @extend_schema(
        summary="The stored signed tree head of a given size",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    @reads_from_replica
    def get(self, request: Request, size: int) -> Response:
        head = TreeHead.objects.filter(tree_size=size).first() if size <= MAX_SEQ else None
        if head is None:
            raise Http404
        response = Response(consent_log.tree_head_json(head))
        if request.query_params.get("download"):
            response["Content-Disposition"] = f'attachment; filename="tree-head-{size}.json"'
        return response


class JwksApi(RegulatorApi):
    """The operator's public keys (also at /.well-known/jwks.json)."""

    @extend_schema(
        summary="The operator's public signing keys",
        responses={200: OpenApiTypes.OBJECT, **problem_responses(400, 403, 404)},
        tags=["regulator"],
    )
    def get(self, request: Request) -> Response:
        response = Response(keys.public_jwks())
        if request.query_params.get("download"):
            response["Content-Disposition"] = 'attachment; filename="jwks.json"'
        return response
