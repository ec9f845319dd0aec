"""The regulator reads every log code as a word in fi, sv and en, with the code beside it."""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.functional import Promise

from consents.decisions import Flow, Reason
from consents.events import EventType
from consents.receipts import ACTOR_ROLES
from consents.states import Provision, Status
from mydata_operator.regulator import labels
from mydata_operator.regulator.filters import LogFilterForm
from mydata_operator.regulator.templatetags.regulator_labels import when

pytestmark = pytest.mark.usefixtures("frozen_now")

TABLES: list[tuple[str, Mapping[str, Promise], list[str]]] = [
    ("event name", labels.EVENT_NAMES, [e.value for e in EventType]),
    ("event description", labels.EVENT_DESCRIPTIONS, [e.value for e in EventType]),
    ("flow", labels.FLOWS, [f.value for f in Flow]),
    ("reason", labels.REASONS, [r.value for r in Reason]),
    ("status", labels.STATUSES, [s.value for s in Status]),
    ("provision", labels.PROVISIONS, [p.value for p in Provision]),
    ("outcome", labels.OUTCOMES, ["permit", "deny"]),
    ("actor role", labels.ROLES, sorted(ACTOR_ROLES)),
]
CASES = [(name, table, code) for name, table, codes in TABLES for code in codes]


@pytest.mark.parametrize(("name", "table", "code"), CASES, ids=[f"{n}:{c}" for n, _t, c in CASES])
@pytest.mark.parametrize("language", ["fi", "sv"])
def test_every_code_has_a_label_translated_to_finnish_and_swedish(
    name: str, table: Mapping[str, Promise], code: str, language: str
) -> None:
    assert code in table, f"the {name} {code!r} has no label in regulator/labels.py"
    with translation.override("en"):
        english = str(table[code])
    with translation.override(language):
        translated = str(table[code])
    assert translated and translated != english, (
        f"the {name} {code!r} is not translated to {language}: add it to the regulator's locale"
    )


def test_event_descriptions_say_what_the_logs_contract_says() -> None:
    with translation.override("en"):
        for e in EventType:
            assert str(labels.EVENT_DESCRIPTIONS[e.value]) == e.label


@pytest.mark.parametrize(
    ("language", "flow_label"),
    [("fi", "Tietovirta:"), ("sv", "Dataflöde:"), ("en", "Data flow:")],
)
def test_form_choices_are_built_in_the_language_of_each_request(
    language: str, flow_label: str
) -> None:
    with translation.override(language):
        form = LogFilterForm({})
        kinds = [str(label) for _code, label in form.fields["kind"].choices]  # type: ignore[attr-defined]
        events = dict(form.fields["event"].choices)  # type: ignore[attr-defined]
    assert any(label.startswith(flow_label) for label in kinds)
    assert events["decision.deny"].endswith("(decision.deny)")
    with translation.override("en"):
        english = str(labels.EVENT_NAMES["decision.deny"])
    assert (english in events["decision.deny"]) == (language == "en")


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("fi", "30.11.2026 klo 8.40.05"),
        ("sv", "30.11.2026 kl. 8.40.05"),
        ("en", "30 Nov 2026, 08:40:05"),
    ],
)
def test_times_are_finnish_local_time_with_utc_on_hover(language: str, shown: str) -> None:
    with translation.override(language):
        html = str(when(datetime(2026, 11, 30, 6, 40, 5, tzinfo=UTC)))
    assert f">{shown}</time>" in html
    assert 'title="2026-11-30 06:40:05 UTC"' in html
    assert 'datetime="2026-11-30T06:40:05+00:00"' in html


def test_scope_is_shown_as_labelled_text_not_as_a_python_dict() -> None:
    scope = {
        "recipient": {"organisation": "1.2.246.10.1234567.10.0", "name": "Terveys Oy"},
        "dataCategories": ["conditions", "medications"],
        "purpose": "care",
        "frequencyPerDay": 20,
    }
    with translation.override("fi"):
        rows = {key: (name, text) for name, key, text in labels.scope_items(scope)}
    assert rows["dataCategories"] == ("Tietoryhmät", "Diagnoosit, Lääkitys")
    assert rows["purpose"] == ("Käyttötarkoitus", "Hoito")
    assert rows["recipient"][1] == "Organisaatio: 1.2.246.10.1234567.10.0; Nimi: Terveys Oy"
    assert rows["frequencyPerDay"][1] == "20"


@pytest.mark.parametrize(
    ("language", "expected", "english"),
    [
        ("fi", "Tietojen luovutus estetty", "The policy decision point denied a data flow"),
        ("sv", "Utlämnande nekat", "The policy decision point denied a data flow"),
        ("en", "Data flow denied", "Tietojen luovutus estetty"),
    ],
)
def test_search_results_name_events_in_the_pages_language_with_the_code(
    regulator_client: Client, populated: int, language: str, expected: str, english: str
) -> None:
    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    text = regulator_client.get("/regulator/", {"event": "decision.deny"}).content.decode()
    assert expected in text
    assert '<code class="code">decision.deny</code>' in text
    assert english not in text
    assert re.search(r'<time datetime="[^"]+" title="[^"]+ UTC">', text)


def _entry_seq(event_type: str) -> int:
    from consents.models import LogEntry

    entry = LogEntry.objects.filter(event_type=event_type).order_by("-leaf__seq").first()
    assert entry is not None and entry.seq is not None
    return entry.seq


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fi", ["Päätöksen peruste", "Pyydetyt tietoryhmät", "Estetty"]),
        ("sv", ["Grund för beslutet", "Begärda uppgiftsgrupper", "Nekat"]),
        ("en", ["Reason for the decision", "Data categories asked for", "Denied"]),
    ],
)
def test_a_denial_shows_its_reason_and_categories_as_text(
    regulator_client: Client, populated: int, language: str, words: list[str]
) -> None:
    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    seq = _entry_seq("decision.deny")
    text = regulator_client.get(f"/regulator/entries/{seq}/").content.decode()
    for word in words:
        assert word in text
    assert 'id="reason"' in text


def test_a_grant_shows_who_acted_its_scope_and_the_notice_text(
    regulator_client: Client, populated: int
) -> None:
    from consents.models import LogEntry, Notice

    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fi"
    seq = _entry_seq("consent.granted")
    entry: Any = LogEntry.objects.get(leaf__seq=seq)
    text = regulator_client.get(f"/regulator/entries/{seq}/").content.decode()
    assert "Tekijä" in text
    assert 'id="scope-h"' in text
    assert "{'" not in text  # no Python dict
    notice = Notice.objects.get(sha256=json.loads(entry.entry)["noticeSha256"])
    assert 'id="notice-text"' in text
    assert notice.text.splitlines()[0][:40] in text


def test_consent_history_says_paatos_not_sisalto(regulator_client: Client, populated: int) -> None:
    from consents.models import LogEntry

    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fi"
    lineage = LogEntry.objects.exclude(consent_lineage=None).values_list(
        "consent_lineage", flat=True
    )[0]
    text = regulator_client.get(f"/regulator/consents/{lineage}/").content.decode()
    assert "Päätös" in text
    assert "Sisältö" not in text
    assert "Suostumusketju" in text
    assert "{'" not in text


def test_a_regulator_lands_on_the_regulator_pages(regulator_client: Client) -> None:
    response = regulator_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/regulator/"


def test_signing_in_as_a_regulator_ends_on_the_regulator_pages(regulator: Any) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/",
        {"username": "valvoja", "password": "valvoja-pass-1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/regulator/"
    assert response.status_code == 200
