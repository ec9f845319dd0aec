"""The consent log's public face: signed tree heads and checkpoints, proofs, witness
cosignatures and the published keys.

Tree heads, checkpoints and proofs hold only hashes, so anyone may fetch them; the entries
themselves are shown only to their subject (or a representative) and to regulators. A witness
posts its cosignature here; the cosignature itself, by a registered key, is its credential.
"""

from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consents import keys, witnesses
from consents import log as consent_log
from consents.errors import invalid
from consents.models import LogEntry, Witness
from mydata_operator.api.access import entry_visible_to
from mydata_operator.api.openapi import problem_responses
from mydata_operator.api.parsers import StrictJSONParser

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
        leaf = LogEntry.objects.values_list("leaf_hash", flat=True).get(leaf__seq=seq)
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
        entry = LogEntry.objects.filter(leaf__seq=seq).first()
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


TEXT = "text/plain; charset=utf-8"
CHECKPOINT_EXAMPLE = (
    "tahto.example/consent-log\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 tahto.example/consent-log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def _text(body: str) -> HttpResponse:
    response = HttpResponse(body, content_type=TEXT)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class LogEntryByIdApi(APIView):
    """An entry by its id (as a receipt cites it): pending integration, or with its proof."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="One log entry by its id: pending integration, or its leaf index and proof",
        responses={
            200: inline_serializer(
                "LogEntryById",
                {
                    "entry_id": serializers.IntegerField(),
                    "status": serializers.ChoiceField(["pending integration", "integrated"]),
                    "seq": serializers.IntegerField(
                        allow_null=True, help_text="Leaf index; null while pending integration"
                    ),
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
    def get(self, request: Request, entry_id: int) -> Response:
        entry = LogEntry.objects.filter(id=entry_id).first()
        if entry is None or not entry_visible_to(request.user, entry):
            raise Http404
        body: dict[str, Any] = {
            "entry_id": entry.id,
            "status": "pending integration" if entry.seq is None else "integrated",
            "seq": entry.seq,
            "entry": entry.entry,
            "leaf_hash": consent_log.b64(bytes(entry.leaf_hash)),
        }
        if entry.seq is not None:
            head = consent_log.tree_head_sign()
            proof = consent_log.inclusion_proof(seq=entry.seq, tree_size=head.tree_size)
            body["tree_head"] = consent_log.tree_head_json(head)
            body["inclusion_proof"] = [consent_log.b64(h) for h in proof]
        return Response(body)


class LogCheckpointApi(APIView):
    """The newest signed tree head as a C2SP checkpoint, with its witnesses' cosignatures."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="The latest checkpoint (c2sp.org/tlog-checkpoint signed note) of the log",
        description=(
            "The same tree head as /log/tree-head, as a signed note: the origin line, the tree "
            "size, the base64 root hash, a blank line, the operator's Ed25519 signature line "
            "(key name = origin; verifier key at /log/checkpoint-key) and one "
            "c2sp.org/tlog-cosignature line for each registered witness that cosigned this "
            "size."
        ),
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The signed checkpoint note",
                examples=[OpenApiExample("checkpoint", value=CHECKPOINT_EXAMPLE)],
            )
        },
        auth=[],
        tags=["log"],
    )
    def get(self, request: Request) -> HttpResponse:
        return _text(witnesses.checkpoint_note(consent_log.tree_head_sign()))


class LogCheckpointKeyApi(APIView):
    """The verifier key of the checkpoints' signatures (c2sp.org/signed-note vkey)."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="The verifier key (signed-note vkey) of the operator's checkpoint signatures",
        description=(
            "`<origin>+<hex key id>+<base64(0x01 || Ed25519 public key)>`. A witness is "
            "configured with it; compare it with the one the operator publishes elsewhere."
        ),
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="vkey")},
        auth=[],
        tags=["log"],
    )
    def get(self, request: Request) -> HttpResponse:
        return _text(witnesses.log_vkey() + "\n")


CosignatureInput = inline_serializer(
    "CosignatureInput",
    {
        "checkpoint": serializers.CharField(
            help_text="The checkpoint note as fetched, with the witness's cosignature line added"
        )
    },
)


class LogCosignatureAddApi(APIView):
    """A witness sends its cosignature of a checkpoint; it is stored and published."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    parser_classes = [StrictJSONParser]

    @extend_schema(
        summary="Add a witness cosignature (c2sp.org/tlog-cosignature) to a checkpoint",
        description=(
            "The body names the checkpoint note this log signed, with one or more cosignature "
            "lines by registered witnesses. A line by any other key is refused (403, "
            "unknown-witness) and nothing is stored; a malformed note, a checkpoint this log "
            "did not sign or a cosignature that does not verify is refused with 422."
        ),
        request=CosignatureInput,
        responses={
            201: inline_serializer(
                "CosignatureAdded",
                {
                    "tree_size": serializers.IntegerField(),
                    "stored": serializers.IntegerField(help_text="New cosignatures stored"),
                    "already_known": serializers.IntegerField(
                        help_text="Cosignatures that were already stored"
                    ),
                },
            ),
            **problem_responses(400, 403, 422),
        },
        auth=[],
        tags=["log"],
    )
    def post(self, request: Request) -> Response:
        data = request.data
        note = data.get("checkpoint") if isinstance(data, dict) else None
        if not isinstance(note, str):
            raise invalid("/checkpoint", "checkpoint must be the signed note as a string")
        result = witnesses.cosignatures_add(note=note)
        return Response(
            {
                "tree_size": result.tree_size,
                "stored": len(result.stored),
                "already_known": result.already_known,
            },
            status=201,
        )


class LogWitnessListApi(APIView):
    """Every registered witness and the largest checkpoint it cosigned."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="The registered witnesses and the newest checkpoint each has cosigned",
        responses={
            200: inline_serializer(
                "WitnessList",
                {
                    "witnesses": inline_serializer(
                        "Witness",
                        {
                            "name": serializers.CharField(),
                            "vkey": serializers.CharField(help_text="Verifier key, type 0x04"),
                            "label": serializers.CharField(),
                            "tree_size": serializers.IntegerField(
                                allow_null=True, help_text="Largest size it cosigned"
                            ),
                            "cosigned_at": serializers.IntegerField(
                                allow_null=True, help_text="POSIX seconds"
                            ),
                        },
                        many=True,
                    )
                },
            )
        },
        auth=[],
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        newest = {w.pk: (size, ts) for w, size, ts in witnesses.witnessed_sizes()}
        items = []
        for witness in Witness.objects.order_by("name"):
            size, ts = newest.get(witness.pk, (None, None))
            items.append(
                {
                    "name": witness.name,
                    "vkey": witnesses.witness_verifier(witness).vkey(),
                    "label": witness.label,
                    "tree_size": size,
                    "cosigned_at": ts,
                }
            )
        return Response({"witnesses": items})
