"""Checkpoints of the log and the witnesses who cosign them.

The operator publishes each signed tree head also as a C2SP checkpoint (a signed note), signed
with its newest Ed25519 key under the log's origin as key name. Witnesses — regulators running
`tahto_verify.py witness` on their own machines — check that each new checkpoint extends the
last one they cosigned and send back their cosignature, which is stored (append-only) and
published with the checkpoint. The witnesses' memory of what they saw lives with them; what is
kept here is only their signed statements, which nobody here can forge.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import checkpoint as cp
from . import keys
from .errors import ConsentError, FieldError, invalid
from .models import Cosignature, TreeHead, Witness


def log_origin() -> str:
    """The checkpoint origin line and the key name of the operator's note signatures."""
    return str(settings.TAHTO_LOG_ORIGIN)


def log_verifiers() -> list[cp.Verifier]:
    """Verifier keys of every operator key, newest first (older ones verify older notes)."""
    return [
        cp.Verifier(log_origin(), cp.SIG_ED25519, public) for public in keys.public_keys().values()
    ]


def log_vkey() -> str:
    """The verifier key (c2sp.org/signed-note) of the operator's newest signing key."""
    return cp.vkey(log_origin(), keys.signing_key().public_key)


def checkpoint_body(head: TreeHead) -> str:
    """The checkpoint text of a signed tree head: origin, size, base64 root."""
    return cp.checkpoint_text(cp.Checkpoint(log_origin(), head.tree_size, bytes(head.root_hash)))


def checkpoint_note(head: TreeHead) -> str:
    """The signed checkpoint of a tree head, with every stored cosignature of that size."""
    text = checkpoint_body(head)
    key = keys.signing_key()
    signatures = [cp.sign_note(text, log_origin(), key.private_key)]
    for cosig in _newest_per_witness(head.tree_size, text):
        signatures.append(
            cp.NoteSignature(
                cosig.witness.name,
                bytes.fromhex(cosig.witness.key_id),
                cosig.timestamp.to_bytes(8, "big") + bytes(cosig.signature),
            )
        )
    return cp.format_note(text, signatures)


def _newest_per_witness(size: int, text: str) -> list[Cosignature]:
    newest: dict[int, Cosignature] = {}
    for cosig in (
        Cosignature.objects.filter(tree_size=size, checkpoint=text)
        .select_related("witness")
        .order_by("-timestamp")
    ):
        newest.setdefault(cosig.witness_id, cosig)
    return [newest[k] for k in sorted(newest)]


def witness_register(*, vkey: str, label: str = "") -> Witness:
    """Accept cosignatures from the witness with this verifier key (type 0x04)."""
    try:
        verifier = cp.parse_vkey(vkey, sig_type=cp.SIG_COSIGNATURE_V1)
    except cp.CheckpointError as exc:
        raise invalid("/vkey", f"not a witness verifier key: {exc}") from None
    witness, _ = Witness.objects.get_or_create(
        name=verifier.name,
        key_id=verifier.key_id.hex(),
        defaults={
            "public_key": cp.public_raw(verifier.public_key),
            "label": label,
            "registered_at": timezone.now(),
        },
    )
    if bytes(witness.public_key) != cp.public_raw(verifier.public_key):
        raise invalid(
            "/vkey",
            f"another key with the name {verifier.name!r} and key id "
            f"{verifier.key_id.hex()} is already registered",
        )
    return witness


def witness_verifier(witness: Witness) -> cp.Verifier:
    """The verifier of a registered witness's cosignatures."""
    return cp.Verifier(
        witness.name,
        cp.SIG_COSIGNATURE_V1,
        Ed25519PublicKey.from_public_bytes(bytes(witness.public_key)),
    )


def _refuse(message: str, code: str = "invalid-cosignature", status: int = 422) -> ConsentError:
    return ConsentError(
        code=code, message=message, errors=[FieldError("/checkpoint", message)], status=status
    )


@dataclass(frozen=True)
class CosignatureResult:
    tree_size: int
    stored: list[Cosignature]
    already_known: int


def cosignatures_add(*, note: str) -> CosignatureResult:
    """Store the witness cosignatures on a checkpoint this log signed; refuse anything else.

    Each signature line must be the operator's own (checked, not stored) or a valid
    cosignature by a registered witness. A line by any other key is refused with its name and
    key id, and nothing of the note is stored.
    """
    try:
        parsed = cp.parse_note(note)
        checkpoint = cp.parse_checkpoint(parsed.text)
    except cp.CheckpointError as exc:
        raise _refuse(f"malformed checkpoint: {exc}") from None
    if checkpoint.origin != log_origin():
        raise _refuse(
            f"the checkpoint is of the log {checkpoint.origin!r}, not of this log "
            f"({log_origin()!r})"
        )
    head = TreeHead.objects.filter(tree_size=checkpoint.size).first()
    if head is None or bytes(head.root_hash) != checkpoint.root_hash or checkpoint.extensions:
        raise _refuse(
            f"this log never signed a checkpoint of size {checkpoint.size} with this root hash"
        )
    operator = log_verifiers()
    witnesses = {(w.name, w.key_id): w for w in Witness.objects.all()}
    signed_by_operator = False
    accepted: list[tuple[Witness, int, bytes]] = []
    for i, sig in enumerate(parsed.signatures, start=1):
        mine = [v for v in operator if v.name == sig.name and v.key_id == sig.key_id]
        if mine:
            if not cp.verify_note_signature(parsed.text, sig, mine[0]):
                raise _refuse(f"signature line {i}: the operator's signature does not verify")
            signed_by_operator = True
            continue
        witness = witnesses.get((sig.name, sig.key_id.hex()))
        if witness is None:
            raise _refuse(
                f"signature line {i}: a cosignature by an unknown key {sig.name}+"
                f"{sig.key_id.hex()}: no witness with this name and key id is registered",
                code="unknown-witness",
                status=403,
            )
        timestamp = cp.verify_cosignature(parsed.text, sig, witness_verifier(witness))
        if timestamp is None:
            raise _refuse(
                f"signature line {i}: the cosignature by witness {witness.name} does not verify"
            )
        accepted.append((witness, timestamp, sig.signature[8:]))
    if not signed_by_operator:
        raise _refuse("the checkpoint does not carry this log's signature")
    if not accepted:
        raise _refuse("the checkpoint carries no witness cosignature")
    stored: list[Cosignature] = []
    known = 0
    now = timezone.now()
    for witness, timestamp, signature in accepted:
        try:
            with transaction.atomic():
                stored.append(
                    Cosignature.objects.create(
                        witness=witness,
                        tree_size=checkpoint.size,
                        root_hash=checkpoint.root_hash,
                        checkpoint=parsed.text,
                        timestamp=timestamp,
                        signature=signature,
                        received_at=now,
                    )
                )
        except IntegrityError:  # the same cosignature sent again: it is already stored
            known += 1
    return CosignatureResult(checkpoint.size, stored, known)


def witnessed_sizes() -> list[tuple[Witness, int, int]]:
    """(witness, newest cosigned size, its timestamp) for every witness that cosigned."""
    rows = []
    for witness in Witness.objects.order_by("name"):
        newest = witness.cosignatures.order_by("-tree_size", "-timestamp").first()
        if newest is not None:
            rows.append((witness, newest.tree_size, newest.timestamp))
    return rows


def cosignature_verified(cosig: Cosignature) -> bool:
    """Whether a stored cosignature still verifies under its witness's key."""
    sig = cp.NoteSignature(
        cosig.witness.name,
        bytes.fromhex(cosig.witness.key_id),
        cosig.timestamp.to_bytes(8, "big") + bytes(cosig.signature),
    )
    return cp.verify_cosignature(cosig.checkpoint, sig, witness_verifier(cosig.witness)) == (
        cosig.timestamp
    )


def newest_witnessed() -> Cosignature | None:
    """The cosignature of the largest checkpoint any registered witness cosigned."""
    return (
        Cosignature.objects.select_related("witness").order_by("-tree_size", "-timestamp").first()
    )


def all_cosignatures() -> list[Cosignature]:
    """Every stored cosignature, smallest size first."""
    return list(Cosignature.objects.select_related("witness").order_by("tree_size", "timestamp"))
