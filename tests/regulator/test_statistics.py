"""Statistics: counts from the log, drawn as SVG that reads without colour, with tables."""

import re
from typing import Any

import pytest
from django.test import Client

from mydata_operator.regulator import charts
from mydata_operator.regulator.filters import LogFilter
from mydata_operator.regulator.selectors import statistics
from tests.conftest import PROVIDER_OID

pytestmark = pytest.mark.usefixtures("frozen_now")


def test_consents_are_counted_per_kind_and_month(populated: int) -> None:
    stats = statistics(LogFilter())
    assert stats.unit == "month" and stats.periods == ["2026-03"]
    assert stats.consents["biobank"]["granted"] == {"2026-03": 2}
    assert stats.consents["needs-assessment"]["withdrawn"] == {"2026-03": 1}
    assert stats.consents["provider-sharing"]["expired"] == {}


def test_decisions_are_counted_per_provider_and_outcome(populated: int) -> None:
    stats = statistics(LogFilter())
    assert stats.decisions == [(PROVIDER_OID, "Terveys Oy", 1, 1)]


def test_short_ranges_are_counted_per_day(populated: int) -> None:
    from datetime import UTC, datetime

    f = LogFilter(
        time_from=datetime(2026, 3, 1, tzinfo=UTC), time_to=datetime(2026, 3, 10, tzinfo=UTC)
    )
    assert statistics(f).unit == "day"
    assert statistics(f).periods == ["2026-03-02"]


def test_statistics_page_has_patterned_charts_with_labels_and_tables(
    regulator_client: Client, populated: int
) -> None:
    text = regulator_client.get("/regulator/statistics/").content.decode()
    assert text.count("<svg") == 5  # four kinds and decisions; no consent was requested
    assert "No consent requests in this range." in text
    assert "<pattern" in text and 'role="img"' in text
    assert "<table" in text and "Terveys Oy" in text
    assert "<script" not in text


def test_chart_shows_every_value_as_text_and_escapes_labels() -> None:
    svg = str(
        charts.bar_chart(
            "t",
            "Decisions <per> provider",
            ["<b>Evil & Co</b>"],
            [charts.Series("permit", [7]), charts.Series("deny", [3])],
        )
    )
    assert "<b>" not in svg and "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in svg
    assert re.search(r">permit 7<", svg) and re.search(r">deny 3<", svg)
    assert 'fill="url(#t-p1)"' in svg  # the second series is hatched, not only coloured


def test_statistics_api_returns_the_same_numbers(regulator_client: Client, populated: int) -> None:
    body: Any = regulator_client.get("/regulator/api/statistics").json()
    assert body["decisions"] == [
        {"provider": PROVIDER_OID, "name": "Terveys Oy", "permit": 1, "deny": 1}
    ]


def test_pages_speak_finnish_and_swedish(regulator: Any, populated: int) -> None:
    for language, heading in (("fi", "Hae suostumuslokista"), ("sv", "Sök i samtyckesloggen")):
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(regulator.user)
        text = client.get("/regulator/").content.decode()
        assert f'<html lang="{language}">' in text
        assert heading in text


def test_statistics_read_the_daily_counts_unless_a_subject_is_named(
    populated: int, citizen: Any
) -> None:
    from consents.models import LogDailyCount

    before = statistics(LogFilter())
    # The integrator's counts are what the statistics group (not every entry): a count
    # changed behind its back shows, and a subject's statistics still count the entries.
    row = LogDailyCount.objects.get(event_type="decision.permit")
    LogDailyCount.objects.filter(pk=row.pk).update(entries=row.entries + 41)
    assert statistics(LogFilter()).decisions == [(PROVIDER_OID, "Terveys Oy", 42, 1)]
    assert before.decisions == [(PROVIDER_OID, "Terveys Oy", 1, 1)]
    assert statistics(LogFilter(subject_id=citizen.id)).decisions == before.decisions


def test_a_range_not_at_midnight_counts_the_entries(populated: int) -> None:
    from datetime import UTC, datetime

    from consents.models import LogDailyCount

    LogDailyCount.objects.all().delete()
    f = LogFilter(time_from=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert statistics(f).decisions == [(PROVIDER_OID, "Terveys Oy", 1, 1)]
    assert statistics(LogFilter()).decisions == []
