"""Exports verify with the stand-alone verifier; a changed, removed or moved line does not."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.test import Client

from consents.events import EventType
from consents.models import LogEntry
from mydata_operator.identity.models import Person
from tests.regulator.exports import download, edit_entry, inclusion, run_module, run_tool

pytestmark = pytest.mark.usefixtures("frozen_now")


def test_jsonl_export_verifies_with_the_stand_alone_verifier(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path)
    done = inclusion(run_tool, export)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"verified {len(export.lines())} entries")


def test_jsonl_export_is_in_the_format_of_consents_verify(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path)
    done = inclusion(run_module, export)
    assert done.returncode == 0, done.stderr


def test_export_of_a_selection_holds_only_the_selected_entries(
    regulator_client: Client, populated: int, citizen: Person, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path, subject=citizen.personal_identity_code)
    seqs = [json.loads(line)["seq"] for line in export.lines()]
    assert seqs == sorted(
        LogEntry.objects.filter(subject_id=citizen.id, leaf__seq__lt=populated + 1).values_list(
            "leaf__seq", flat=True
        )
    )
    assert inclusion(run_tool, export).returncode == 0


def test_full_export_verifies_as_the_complete_log(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    everything = [e.value for e in EventType]
    export = download(regulator_client, tmp_path, event=everything)
    done = inclusion(run_tool, export, None, "--complete")
    assert done.returncode == 0, done.stderr


def test_csv_export_verifies_with_the_stand_alone_verifier(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path, fmt="csv")
    header = export.entries.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("\ufeffseq,occurred_at,event_type")  # en: RFC 4180 commas
    done = inclusion(run_tool, export)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_csv_export_for_finnish_and_swedish_spreadsheets_is_semicolon_separated_and_verifies(
    regulator_client: Client, populated: int, tmp_path: Path, language: str
) -> None:
    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    export = download(regulator_client, tmp_path, fmt="csv")
    raw = export.entries.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows
    assert {"seq", "entry", "inclusion_proof", "event_name", "reason"} <= set(rows[0])
    assert all(json.loads(r["entry"])["type"] == r["event_type"] for r in rows)  # one cell each
    done = inclusion(run_tool, export)
    assert done.returncode == 0, done.stderr


def test_csv_export_has_readable_columns_in_the_page_language(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    regulator_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fi"
    export = download(regulator_client, tmp_path, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(export.entries.read_text("utf-8-sig")), delimiter=";"))
    denied = [r for r in rows if r["event_type"] == "decision.deny"]
    assert denied
    assert denied[0]["event_name"] == "Tietojen luovutus estetty"
    assert denied[0]["reason"].startswith("Suostumus ei kata")
    assert denied[0]["data_categories"]
    granted = [r for r in rows if r["event_type"] == "consent.granted"]
    assert granted[0]["event_name"] == "Suostumus annettu"
    assert granted[0]["actor_role"] in ("Henkilö itse", "Huoltaja")


def test_changed_entry_in_an_export_fails_at_that_entry(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path)
    lines = export.lines()
    seq = json.loads(lines[3])["seq"]
    lines[3] = edit_entry(lines[3], type="consent.withdrawn")
    done = inclusion(run_tool, export, export.write(lines))
    assert done.returncode == 1
    assert f"verification failed at entry {seq}:" in done.stderr
    assert "verified" not in done.stdout


def test_reordered_lines_in_an_export_fail(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path)
    lines = export.lines()
    assert [json.loads(line)["seq"] for line in lines[:4]] == [0, 1, 2, 3]
    lines[2], lines[3] = lines[3], lines[2]
    done = inclusion(run_tool, export, export.write(lines))
    assert done.returncode == 1
    assert "verification failed at entry 3: entry 2 is missing or out of place" in done.stderr


def test_line_removed_from_the_middle_of_a_selection_is_reported(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path)
    lines = export.lines()
    removed = json.loads(lines[4])["seq"]
    del lines[4]
    done = inclusion(run_tool, export, export.write(lines))
    assert done.returncode == 1
    assert f"entry {removed} is missing or out of place" in done.stderr


def test_cut_off_export_is_reported(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    export = download(regulator_client, tmp_path)
    lines = export.lines()[:-1]
    done = inclusion(run_tool, export, export.write(lines))
    assert done.returncode == 1
    assert "ends without its line marked last" in done.stderr


def test_export_pinned_to_an_unknown_tree_head_is_refused(
    regulator_client: Client, populated: int
) -> None:
    response = regulator_client.get("/regulator/export/entries.jsonl", {"tree_size": "99999"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "/tree_size"


def test_export_with_a_malformed_filter_is_refused_naming_the_field(
    regulator_client: Client, populated: int
) -> None:
    response = regulator_client.get("/regulator/export/entries.csv", {"subject": "nonsense"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/subject"


def test_export_page_shows_the_estimate_and_the_head_it_is_pinned_to(
    regulator_client: Client, populated: int, citizen: Person
) -> None:
    response = regulator_client.get(
        "/regulator/export/", {"subject": citizen.personal_identity_code}
    )
    text = response.content.decode()
    expected = LogEntry.objects.filter(subject_id=citizen.id).count()
    assert f'data-count="{expected}"' in text
    assert "entries.jsonl?" in text and "tree_size=" in text


def test_each_export_is_logged_with_its_tree_size(
    regulator_client: Client, populated: int, tmp_path: Path
) -> None:
    download(regulator_client, tmp_path, kind="biobank")
    audits = LogEntry.objects.filter(event_type=EventType.AUDIT_QUERY).order_by("leaf__seq")
    body = next(
        json.loads(a.entry) for a in audits if json.loads(a.entry)["action"] == "export-jsonl"
    )
    assert body["query"]["kind"] == "biobank"
    assert body["query"]["treeSize"] >= populated
