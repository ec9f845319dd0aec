"""The regulator's pages: search, drill-down, export, statistics and the log's integrity.

Read-only (GET/HEAD). Each search, drill-down, export and statistics query is first written
to the log as an `audit.query` entry; then the current signed tree head is checked against
the last one this regulator saw, and a failure is shown on every page until resolved.

Their reads come from the database replica when one is configured (`@reads_from_replica`):
the head, the entries and the proofs of one page are one snapshot of the replica, so the
head shown is never newer than the entries the replica holds. The audit entry is a write and
goes to the primary.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from consents import log as consent_log
from consents import merkle, witnesses
from consents.models import IntegrityCheck, LogEntry, TreeHead
from mydata_operator.api import dates
from mydata_operator.api.problems import INVALID_FILTER_TITLE, localized_errors, problem_response
from mydata_operator.identity.models import Provider, Regulator
from mydata_operator.replica import reads_from_replica, stream_from_replica

from . import charts, export, labels, selectors, services
from .access import regulator_for, regulator_required
from .filters import (
    MAX_SEQ,
    CursorError,
    LogFilterForm,
    filter_query,
    form_errors,
    parse_cursor,
    parse_limit,
)


def provider_names(oids: set[str]) -> dict[str, str]:
    oids = {o for o in oids if o}
    return dict(
        Provider.objects.filter(organisation_id__in=oids).values_list("organisation_id", "name")
    )


def _render(
    request: HttpRequest, regulator: Regulator, template: str, context: dict[str, Any], **kw: Any
) -> HttpResponse:
    check = services.tree_head_check()
    return render(
        request,
        template,
        {**context, "head_check": check, "regulator": regulator},
        **kw,
    )


@regulator_required
@reads_from_replica
def search(request: HttpRequest, regulator: Regulator) -> HttpResponse:
    """Search the log by subject, provider, kind, event type, purpose, outcome and time."""
    form = LogFilterForm(request.GET)
    context: dict[str, Any] = {"form": form}
    status = 200
    try:
        before = parse_cursor(request.GET.get("before"), "before")
        after = parse_cursor(request.GET.get("after"), "after")
        limit = parse_limit(request.GET.get("limit"))
    except CursorError:
        context["cursor_error"] = _(
            "The page links (before, after, limit) are not valid; start the search again."
        )
        return _render(request, regulator, "regulator/search.html", context, status=400)
    if form.is_valid():
        f = form.log_filter()
        services.audit_query_log(
            regulator=regulator,
            action="search",
            query={**f.as_audit(), "before": before, "after": after, "limit": limit},
        )
        page = selectors.entries_page(f, before=before, after=after, limit=limit)
        names = provider_names({e.recipient for e in page.entries})
        context.update(
            page=page,
            rows=[(e, names.get(e.recipient, "")) for e in page.entries],
            older_url=f"?{filter_query(request, before=page.older)}" if page.older else None,
            newer_url=f"?{filter_query(request, after=page.newer)}" if page.newer else None,
            export_url=f"{reverse('regulator:export')}?{filter_query(request)}",
        )
    else:
        status = 400
    return _render(request, regulator, "regulator/search.html", context, status=status)


def _entry_or_404(seq: int) -> LogEntry:
    entry = LogEntry.objects.filter(leaf__seq=seq).first()
    if entry is None:
        raise Http404(_("No log entry with this number."))
    return entry


@regulator_required
@reads_from_replica
def entry_detail(request: HttpRequest, regulator: Regulator, seq: int) -> HttpResponse:
    """One entry: its exact hashed text, its inclusion proof, and for a decision its consent."""
    if seq > MAX_SEQ:
        raise Http404(_("No log entry with this number."))
    services.audit_query_log(regulator=regulator, action="entry", query={"seq": seq})
    entry = _entry_or_404(seq)
    head = consent_log.tree_head_sign()
    proof: list[bytes] = []
    included = False
    if seq < head.tree_size:
        proof = consent_log.inclusion_proof(seq=seq, tree_size=head.tree_size)
        included = merkle.verify_entry_inclusion(
            entry.entry.encode("utf-8"), seq, head.tree_size, proof, bytes(head.root_hash)
        )
    leaf_ok = merkle.leaf_hash(entry.entry.encode("utf-8")) == bytes(entry.leaf_hash)
    body = selectors.entry_body(entry)
    context = {
        "entry": entry,
        "body": body,
        "notice": selectors.notice_for(body),
        "pretty": json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True),
        "leaf_hash": export.b64(bytes(entry.leaf_hash)),
        "leaf_ok": leaf_ok,
        "proof": [export.b64(h) for h in proof],
        "signed_head": head,
        "included": included and leaf_ok,
        "decided_by": selectors.consent_at_decision(entry),
        "provider_name": provider_names({entry.recipient}).get(entry.recipient, ""),
    }
    return _render(request, regulator, "regulator/entry.html", context)


@regulator_required
@reads_from_replica
def consent_detail(request: HttpRequest, regulator: Regulator, consent: UUID) -> HttpResponse:
    """A consent's every version and whole history, and the decisions made under it."""
    services.audit_query_log(regulator=regulator, action="consent", query={"consent": consent})
    history = selectors.consent_history(consent)
    if history is None:
        raise Http404(_("No consent with this id."))
    return _render(
        request,
        regulator,
        "regulator/consent.html",
        {
            "history": history,
            "versions": history.versions,
            "names": provider_names({e.recipient for e in history.events + history.decisions}),
        },
    )


# --- export -------------------------------------------------------------------------------


def _export_head(request: HttpRequest) -> TreeHead | JsonResponse:
    raw = request.GET.get("tree_size") or ""
    if raw == "":
        return consent_log.tree_head_sign()
    try:
        size = parse_cursor(raw, "tree_size")
    except CursorError:
        size = None
    head = TreeHead.objects.filter(tree_size=size).first() if size is not None else None
    if head is None:
        return problem_response(
            400,
            "unknown-tree-head",
            _("No signed tree head of this size."),
            _("tree_size must be the size of a signed tree head; leave it out for the newest."),
            localized_errors(
                [{"pointer": "/tree_size", "message": f"no signed tree head of size {raw!r}"}]
            ),
        )
    return head


@regulator_required
@reads_from_replica
def export_page(request: HttpRequest, regulator: Regulator) -> HttpResponse:
    """Shows how many entries the selection holds, the head it is pinned to, and downloads."""
    form = LogFilterForm(request.GET)
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_valid():
        f = form.log_filter()
        services.audit_query_log(regulator=regulator, action="export-estimate", query=f.as_audit())
        head = consent_log.tree_head_sign()
        q = filter_query(request, tree_size=head.tree_size)
        context.update(
            estimate=selectors.estimate_count(f, tree_size=head.tree_size),
            export_head=head,
            jsonl_url=f"{reverse('regulator:export-jsonl')}?{q}",
            csv_url=f"{reverse('regulator:export-csv')}?{q}",
            head_url=f"{reverse('regulator:api-tree-heads', args=[head.tree_size])}?download=1",
            search_url=f"{reverse('regulator:search')}?{filter_query(request)}",
        )
    else:
        status = 400
    return _render(request, regulator, "regulator/export.html", context, status=status)


def _export(
    request: HttpRequest, regulator: Regulator, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    form = LogFilterForm(request.GET)
    if not form.is_valid():
        return problem_response(
            422, "invalid-filter", str(INVALID_FILTER_TITLE), errors=form_errors(form)
        )
    head = _export_head(request)
    if isinstance(head, JsonResponse):
        return head
    f = form.log_filter()
    services.audit_query_log(
        regulator=regulator,
        action=f"export-{fmt}",
        query={**f.as_audit(), "treeSize": head.tree_size},
    )
    entries = selectors.entries_for_export(f, tree_size=head.tree_size)
    if fmt == "jsonl":
        lines = export.jsonl_lines(entries, head.tree_size)
        content_type = "application/jsonl; charset=utf-8"
    else:
        lines = export.csv_lines(entries, head.tree_size, language=get_language() or "fi")
        content_type = "text/csv; charset=utf-8"
    response = StreamingHttpResponse(stream_from_replica(lines), content_type=content_type)
    name = f"tahto-log-{head.tree_size}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Tahto-Tree-Size"] = str(head.tree_size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@regulator_required
@reads_from_replica
def export_jsonl(
    request: HttpRequest, regulator: Regulator
) -> HttpResponse | StreamingHttpResponse:
    return _export(request, regulator, "jsonl")


@regulator_required
@reads_from_replica
def export_csv(request: HttpRequest, regulator: Regulator) -> HttpResponse | StreamingHttpResponse:
    return _export(request, regulator, "csv")


# --- statistics and integrity -------------------------------------------------------------


def period_label(period: str, unit: str) -> str:
    """A statistics period (ISO, as the selector and the JSON API give it: 2026-11-30,
    2026-11 or 2026) as the page's language writes it: 30.11.2026 / marraskuu 2026 (fi),
    30.11.2026 / november 2026 (sv), 30 Nov 2026 / November 2026 (en)."""
    try:
        if unit == "day":
            return dates.local_date(date.fromisoformat(period))
        if unit == "month":
            return dates.local_month(date.fromisoformat(f"{period}-01"))
    except ValueError:  # the selector's "?" for a row without a time
        return period
    return period  # a year is written the same in every language


@regulator_required
@reads_from_replica
def statistics(request: HttpRequest, regulator: Regulator) -> HttpResponse:
    """Consents granted, withdrawn and expired per kind over time; decisions and requests."""
    form = LogFilterForm(request.GET)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return _render(request, regulator, "regulator/statistics.html", context, status=400)
    f = form.log_filter()
    services.audit_query_log(regulator=regulator, action="statistics", query=f.as_audit())
    stats = selectors.statistics(f)
    shown = [period_label(p, stats.unit) for p in stats.periods]
    series_names = {
        "granted": _("granted"),
        "withdrawn": _("withdrawn"),
        "expired": _("expired"),
    }
    kinds = []
    for i, (kind, per_series) in enumerate(stats.consents.items()):
        series = [
            charts.Series(series_names[name], [counts.get(p, 0) for p in stats.periods])
            for name, counts in per_series.items()
        ]
        label = labels.kind_or_flow(kind)
        kinds.append(
            {
                "kind": kind,
                "label": label,
                "chart": charts.column_chart(
                    f"k{i}", _("Consent events: %(kind)s") % {"kind": label}, shown, series
                ),
                "rows": [(p, *[s.values[j] for s in series]) for j, p in enumerate(shown)],
                "series": [s.name for s in series],
            }
        )
    decisions_chart = charts.bar_chart(
        "dec",
        _("Decisions per provider"),
        [name for _oid, name, _p, _d in stats.decisions],
        [
            charts.Series(str(labels.OUTCOMES["permit"]), [p for *_rest, p, _d in stats.decisions]),
            charts.Series(str(labels.OUTCOMES["deny"]), [d for *_rest, d in stats.decisions]),
        ],
    )
    requests_chart = charts.bar_chart(
        "req",
        _("Consent requests per provider"),
        [name for _oid, name, _n in stats.requests],
        [charts.Series(_("requests"), [n for *_rest, n in stats.requests])],
    )
    context.update(
        stats=stats,
        kinds=kinds,
        decisions_chart=decisions_chart,
        requests_chart=requests_chart,
    )
    return _render(request, regulator, "regulator/statistics.html", context)


@regulator_required
@reads_from_replica
def integrity(request: HttpRequest, regulator: Regulator) -> HttpResponse:
    """The signed head, its consistency with the newest witnessed checkpoint, which witnesses
    vouched for which size, the last integrity checks, and how to verify."""
    check = services.tree_head_check()
    return render(
        request,
        "regulator/integrity.html",
        {
            "head_check": check,
            "regulator": regulator,
            "root_b64": export.b64(bytes(check.head.root_hash)),
            "signed_at": datetime.fromtimestamp(check.head.timestamp_ms / 1000, tz=UTC),
            "witnessed": selectors.witnessed_checkpoints(),
            "checks": list(IntegrityCheck.objects.order_by("-finished_at", "-id")[:5]),
            "log_vkey": witnesses.log_vkey(),
        },
    )


# --- not found ----------------------------------------------------------------------------


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse | None:
    """A signed-in regulator's not-found page under /regulator/: the regulator's navigation
    and a way back to the search. None for anyone else, who gets the site's own page."""
    regulator = regulator_for(getattr(request, "user", None))
    if regulator is None:
        return None
    reason = exception.args[0] if exception.args and isinstance(exception.args[0], str) else ""
    return _render(request, regulator, "regulator/404.html", {"reason": reason}, status=404)
