"""The consent log's public face: signed tree heads, proofs, and the published keys.

Tree heads and proofs hold only hashes, so anyone may fetch them; the entries themselves are
shown only to their subject (or a representative) and, later, to regulators.
"""

from typing import Any

from django.http import Http404, JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consents import keys
from consents import log as consent_log
from consents.models import LogEntry
from mydata_operator.api.access import entry_visible_to
from mydata_operator.api.openapi import problem_responses

TreeHeadSerializer = inline_serializer(
    "TreeHead",
    {
        "tree_size": serializers.IntegerField(help_text="Number of entries the head covers"),
        "timestamp": serializers.IntegerField(help_text="Milliseconds since the epoch, UTC"),
        "sha256_root_hash": serializers.CharField(help_text="RFC 6962 root hash, base64"),
        "tree_head_signature": serializers.CharField(
            help_text="Ed25519 signature over the RFC 6962 TreeHeadSignature struct, base64"
        ),
        "key_id": serializers.CharField(help_text="kid of the signing key in the JWKS"),
    },
)


def jwks_view(request: Any) -> JsonResponse:
    """The public halves of the operator's signing keys (receipts and tree heads)."""
    response = JsonResponse(keys.public_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


class LogTreeHeadApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The latest signed tree head of the consent log",
        responses={200: TreeHeadSerializer},
        auth=[],
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        return Response(consent_log.tree_head_json(consent_log.tree_head_sign()))


def _int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        raise consent_log.ProofError(f"the query parameter {name!r} is required")
    try:
        return int(raw)
    except ValueError as exc:
        raise consent_log.ProofError(f"{name} must be an integer, not {raw!r}") from exc


class LogInclusionProofApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Inclusion proof (RFC 9162 §2.1.3) of one entry in a tree of a given size",
        parameters=[
            OpenApiParameter("seq", int, required=True, description="Leaf index of the entry"),
            OpenApiParameter("tree_size", int, required=True, description="Size of the tree"),
        ],
        responses={
            200: inline_serializer(
                "InclusionProof",
                {
                    "seq": serializers.IntegerField(),
                    "tree_size": serializers.IntegerField(),
                    "leaf_hash": serializers.CharField(help_text="SHA-256(0x00 || entry), base64"),
                    "inclusion_proof": serializers.ListField(
                        child=serializers.CharField(), help_text="Audit path, base64 hashes"
                    ),
                },
            ),
            **problem_responses(400),
        },
        auth=[],
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        seq, size = _int_param(request, "seq"), _int_param(request, "tree_size")
        proof = consent_log.inclusion_proof(seq=seq, tree_size=size)
        leaf = LogEntry.objects.values_list("leaf_hash", flat=True).get(seq=seq)
        return Response(
            {
                "seq": seq,
                "tree_size": size,
                "leaf_hash": consent_log.b64(bytes(leaf)),
                "inclusion_proof": [consent_log.b64(h) for h in proof],
            }
        )


class LogConsistencyProofApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Consistency proof (RFC 9162 §2.1.4) between two tree sizes",
        parameters=[
            OpenApiParameter("first", int, required=True, description="The older tree size"),
            OpenApiParameter("second", int, required=True, description="The newer tree size"),
        ],
        responses={
            200: inline_serializer(
                "ConsistencyProof",
                {
                    "first": serializers.IntegerField(),
                    "second": serializers.IntegerField(),
                    "consistency_proof": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **problem_responses(400),
        },
        auth=[],
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        first, second = _int_param(request, "first"), _int_param(request, "second")
        proof = consent_log.consistency_proof(first=first, second=second)
        return Response(
            {
                "first": first,
                "second": second,
                "consistency_proof": [consent_log.b64(h) for h in proof],
            }
        )


class LogEntryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="One log entry with its inclusion proof in the latest signed tree head",
        responses={
            200: inline_serializer(
                "LogEntry",
                {
                    "seq": serializers.IntegerField(),
                    "entry": serializers.CharField(
                        help_text="Canonical JSON (RFC 8785), as hashed"
                    ),
                    "leaf_hash": serializers.CharField(),
                    "tree_head": TreeHeadSerializer,
                    "inclusion_proof": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **problem_responses(403, 404),
        },
        tags=["log"],
    )
    def get(self, request: Request, seq: int) -> Response:
        entry = LogEntry.objects.filter(seq=seq).first()
        if entry is None or not entry_visible_to(request.user, entry):
            raise Http404
        head = consent_log.tree_head_sign()
        proof = consent_log.inclusion_proof(seq=seq, tree_size=head.tree_size)
        return Response(
            {
                "seq": seq,
                "entry": entry.entry,
                "leaf_hash": consent_log.b64(bytes(entry.leaf_hash)),
                "tree_head": consent_log.tree_head_json(head),
                "inclusion_proof": [consent_log.b64(h) for h in proof],
            }
        )
