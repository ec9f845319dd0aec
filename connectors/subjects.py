"""Who a subject is, for counterparts that need the personal identity code (Kanta).

The code lives only in the identity app; connectors reach it through the setting
``TAHTO_SUBJECT_RESOLVER`` (a dotted path), so they never import the web layer, and they ask
at the moment of sending, so no payload in the outbox ever holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils.module_loading import import_string

from .base import ConnectorError

HETU_SYSTEM = "urn:oid:1.2.246.21"


def _resolver() -> Callable[[UUID], str]:
    return import_string(settings.TAHTO_SUBJECT_RESOLVER)  # type: ignore[no-any-return]


def personal_identity_code(subject_id: UUID) -> str:
    try:
        return str(_resolver()(subject_id))
    except ConnectorError:
        raise
    except Exception as exc:
        raise ConnectorError(
            f"no personal identity code for subject {subject_id}: {exc.__class__.__name__}",
            permanent=True,
        ) from exc


def patient_reference(subject_id: UUID) -> dict[str, Any]:
    """A FHIR Reference to the person by personal identity code, as Kanta names people."""
    return {"identifier": {"system": HETU_SYSTEM, "value": personal_identity_code(subject_id)}}
