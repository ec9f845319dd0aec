"""After the flows, the operator's database holds no health data that passed through it."""

from typing import Any

from django.db import connection

from connectors.kanta.connector import provider_query
from connectors.models import OutboxItem
from connectors.wellbeing import wellbeing_submit
from consents import services
from consents.policy import Recipient
from tests.conftest import APP_ID, PROVIDER_OID, grant
from tests.connectors.conftest import pump

SENTINEL = "SENTINEL-note-7f3a9c"
SENTINEL_VALUE = "98765.4321"
#: Texts of the synthetic Kanta records a provider query carries through the operator.
KANTA_TEXTS = ["Asthma, unspecified", "salmeterol and fluticasone", "Essential (primary)"]


def database_text() -> dict[str, str]:
    """Every table of the database as text, for a scan."""
    out = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            out[table] = repr(cursor.fetchall())
    return out


def test_no_health_data_payload_is_left_after_the_flows(
    kanta: Any, provider_fhir: Any, citizen: Any
) -> None:
    grant(citizen, "wellbeing-sharing")
    sharing = grant(citizen, "provider-sharing")
    reading = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "note": [{"text": SENTINEL}],
        "valueQuantity": {"value": float(SENTINEL_VALUE), "unit": "kg"},
    }
    steps = {**reading, "code": {"coding": [{"system": "http://loinc.org", "code": "55423-8"}]}}
    wellbeing_submit(subject_id=citizen.id, source_application=APP_ID, resources=[steps])
    wellbeing_submit(subject_id=citizen.id, source_application=APP_ID, resources=[reading])
    result = provider_query(
        subject_id=citizen.id,
        patient_identifier=citizen.personal_identity_code,
        recipient=Recipient(organisation=PROVIDER_OID),
        consent_lineage=sharing.lineage,
        purpose="care",
        resource_types=None,
        requested_by="terveys-oy",
    )
    assert result.bundle is not None and "Asthma" in repr(result.bundle)
    pump()
    statuses = set(OutboxItem.objects.values_list("status", flat=True))
    assert statuses == {OutboxItem.Status.DONE}
    services.consent_withdraw(consent=sharing, actor=services.Actor.person(citizen.id))
    pump()

    tables = database_text()
    for table, text in tables.items():
        for needle in [SENTINEL, SENTINEL_VALUE, *KANTA_TEXTS]:
            assert needle not in text, f"{needle!r} left in table {table}"
        if table != "identity_person":
            assert citizen.personal_identity_code not in text, f"identity code left in {table}"
    assert not OutboxItem.objects.filter(payload__isnull=False).exists()
