"""The citizen's consent dashboard: thin views over consents.services and the selectors.

Every view that reads a consent goes through `selectors.consent_or_404`, so a consent of
someone the person may not act for is "not found", never shown. Every state change passes a
step-up check and calls exactly one service; the service enforces guardianship and mandates.
"""

import functools
import secrets
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consents import services
from consents.errors import ConsentError
from consents.keys import public_jwks
from consents.kinds import kinds_answering
from consents.models import Consent
from consents.policy import Flow
from consents.receipts import ReceiptInvalid, receipt_verify
from consents.states import TRANSITIONS, Status
from mydata_operator.identity.models import Person
from mydata_operator.identity.selectors import person_for_user
from mydata_operator.security.citizen_apps import app_authorization_revoke, app_authorizations_of
from mydata_operator.security.stepup import step_up_next

from . import labels as L
from . import receipts as R
from . import selectors as S
from .forms import (
    FORMS,
    ConsentForm,
    DisclosureFilterForm,
    ReceiptVerifyForm,
    StepUpForm,
    TotpConfirmForm,
)
from .models import TotpDevice
from .notices import notice_language, notice_sha, notice_text
from .preview import hypothetical, preview
from .stepup import (
    step_up_fresh,
    step_up_method,
    step_up_record,
    step_up_verify,
    totp_accept,
    totp_new_secret,
    totp_uri,
)

View = Callable[..., HttpResponse]


def citizen_required(view: View) -> View:
    """Signed in, and a citizen (a Person); the person is passed to the view."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        person = person_for_user(request.user)
        if person is None:
            return render(request, "dashboard/not_citizen.html", status=403)
        try:
            return view(request, person, *args, **kwargs)
        except S.KindNotCovered:
            message = _error_text(ConsentError(code="no-mandate", message="", status=403))
            return render(request, "dashboard/not_covered.html", {"message": message}, status=403)

    return wrapper


# --- Helpers ----------------------------------------------------------------------------------


def _now() -> datetime:
    return timezone.now()


def _error_text(exc: ConsentError) -> str:
    """A service error in the person's language where we know its code."""
    known = {
        "no-mandate": _(
            "You may not act on behalf of this person for this kind of consent: you have no "
            "valid guardianship or mandate for it."
        ),
        "not-permitted": _("You may not do this."),
        "request-expired": _("The request has expired; the provider has to send a new one."),
        "period-ended": _("The requested period has already ended."),
        "transition-forbidden": _("This consent can no longer be changed in this way."),
    }
    return known.get(exc.code, exc.message)


def _step_up_form(request: HttpRequest) -> StepUpForm:
    return StepUpForm(method=step_up_method(request.user))


def _step_up(request: HttpRequest) -> tuple[bool, StepUpForm]:
    """(passed, form). Passed when the last proof is fresh or the secret was right."""
    form = StepUpForm(request.POST, method=step_up_method(request.user))
    if step_up_fresh(request):
        return True, form
    form.is_valid()
    name = form.secret_field
    secret = form.cleaned_data.get(name, "") if hasattr(form, "cleaned_data") else ""
    if step_up_verify(request, secret=secret):
        return True, form
    if name == "step_up_code":
        message = (
            _("Enter the code from your authenticator app.")
            if not secret
            else _("The code is not correct or was already used.")
        )
    else:
        message = (
            _("Enter your password to confirm it is you.")
            if not secret
            else _("The password is not correct.")
        )
    form.add_error(name, message)
    return False, form


CONFIRM_TOKENS = "tahto_confirm_tokens"


def _confirm_token_new(request: HttpRequest) -> str:
    """A one-time token for a confirmation form, so that a double submission acts once."""
    token = secrets.token_urlsafe(16)
    request.session[CONFIRM_TOKENS] = [*request.session.get(CONFIRM_TOKENS, [])[-19:], token]
    return token


def _confirm_token_valid(request: HttpRequest) -> bool:
    return request.POST.get("confirm_token", "") in request.session.get(CONFIRM_TOKENS, [])


def _confirm_token_use(request: HttpRequest) -> None:
    token = request.POST.get("confirm_token", "")
    request.session[CONFIRM_TOKENS] = [
        t for t in request.session.get(CONFIRM_TOKENS, []) if t != token
    ]


def _names() -> dict[str, str]:
    return S.provider_names()


def _enter(request: HttpRequest, subject: S.Subject) -> None:
    """Acting for `subject` from now on (the header says so on every page)."""
    if subject.is_self:
        request.session.pop(S.ACTING_FOR, None)
    elif request.session.get(S.ACTING_FOR) != str(subject.person.id):
        request.session[S.ACTING_FOR] = str(subject.person.id)


def _consent_context(consent: Consent, person: Person, at: datetime) -> dict[str, Any]:
    subject = Person.objects.filter(id=consent.subject_id).first()
    term, text = S.validity_line(consent)
    return {
        "consent": consent,
        "subject": subject,
        "is_self": consent.subject_id == person.id,
        "kind_label": L.label(L.KINDS, consent.kind),
        "status_label": L.label(L.STATUSES, consent.status),
        "rows": S.describe_scope(consent.kind, consent.scope, _names()),
        "validity_term": term,
        "validity": text,
    }


def _card(consent: Consent, names: dict[str, str]) -> dict[str, Any]:
    term, text = S.validity_line(consent)
    return {
        "consent": consent,
        "rows": S.describe_scope(consent.kind, consent.scope, names),
        "validity_term": term,
        "validity": text,
        "status": L.label(L.STATUSES, consent.status),
    }


# --- Pages ------------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    """The landing page for visitors; the overview for a signed-in citizen."""
    if request.user.is_authenticated and person_for_user(request.user) is not None:
        return overview(request)
    return render(request, "dashboard/landing.html")


@citizen_required
def overview(request: HttpRequest, person: Person) -> HttpResponse:
    """The consents of the person, or of the one person they chose to act for (never both
    in one list, so nobody mistakes a child's consent for their own)."""
    at = _now()
    subjects = S.subjects_for(person, at=at)
    if request.GET.get("for"):
        _enter(request, S.subject_or_404(person, request.GET["for"], at=at))
    acting = S.acting_subject(person, request.session.get(S.ACTING_FOR), at=at)
    names = _names()
    sections = []
    for subject in [acting]:
        groups = S.groups_for(subject.person.id, subject.kinds)
        kinds = [
            {
                "kind": group.kind,
                "label": group.label,
                "help": group.help,
                "current": [_card(c, names) for c in group.current],
                "past": [_card(c, names) for c in group.past],
            }
            for group in groups
        ]
        sections.append({"subject": subject, "groups": kinds})
    pending = S.pending_requests(subjects, at=at)
    return render(
        request,
        "dashboard/overview.html",
        {
            "person": person,
            "sections": sections,
            "acting": acting,
            "others": [s for s in subjects if s.person.id != acting.person.id],
            "pending_count": pending.count(),
            "notices": S.access_notices(person, at=at),
        },
    )


@citizen_required
@require_http_methods(["POST"])
def acting_for_switch(request: HttpRequest, person: Person) -> HttpResponse:
    """Start (or stop) acting for someone the person may act for; then their overview."""
    chosen = request.POST.get("person") or None
    subject = S.subject_or_404(person, chosen, at=_now())
    _enter(request, subject)
    return redirect("dashboard:overview")


@citizen_required
@require_http_methods(["GET", "POST"])
def consent_new(request: HttpRequest, person: Person, kind: str) -> HttpResponse:
    if kind not in FORMS:
        raise Http404
    at = _now()
    subject = S.subject_or_404(person, request.GET.get("for") or request.POST.get("for"), at=at)
    if not subject.covers(kind):
        raise Http404  # their mandate does not cover this kind
    _enter(request, subject)
    return _consent_form_flow(request, person, subject, kind=kind, replacing=None)


@citizen_required
@require_http_methods(["GET", "POST"])
def consent_change(request: HttpRequest, person: Person, consent_id: UUID) -> HttpResponse:
    at = _now()
    consent = S.consent_or_404(person, consent_id, at=at)
    if consent.status not in S.CURRENT:
        messages.warning(request, _("Only a consent in force or paused can be changed."))
        return redirect("dashboard:consent", consent_id=S.latest_version(consent).id)
    subject = S.subject_or_404(person, consent.subject_id, at=at)
    _enter(request, subject)
    return _consent_form_flow(request, person, subject, kind=consent.kind, replacing=consent)


def _consent_form_flow(
    request: HttpRequest,
    person: Person,
    subject: S.Subject,
    *,
    kind: str,
    replacing: Consent | None,
) -> HttpResponse:
    """Form -> preview with the notice -> confirm (with step-up) -> the service."""
    form_class = FORMS[kind]
    action = "change" if replacing else "grant"
    step = request.POST.get("step", "")
    if request.method == "GET":
        initial = form_class.initial_from(replacing.scope) if replacing else {}
        if replacing and replacing.valid_until:
            initial["valid_until"] = timezone.localtime(replacing.valid_until).date() - timedelta(
                days=1
            )
        form: ConsentForm = form_class(initial=initial)
        return _render_form(request, form, subject, kind, replacing)
    form = form_class(request.POST)
    if step == "edit" or not form.is_valid():
        return _render_form(request, form, subject, kind, replacing)
    at = _now()
    scope = form.to_scope()
    valid_until = form.valid_until_datetime()
    proposed = hypothetical(
        kind=kind,
        subject_id=subject.person.id,
        scope=scope,
        at=at,
        valid_until=valid_until,
        replacing=replacing,
    )
    names = _names()
    rows = S.describe_scope(kind, scope, names)
    text = notice_text(
        action=action,
        kind=kind,
        rows=rows,
        validity=S.validity(proposed),
        actor=person,
        subject=subject.person,
        role=subject.role,
    )
    step_up_form = _step_up_form(request)
    if step == "confirm" and not _confirm_token_valid(request):
        # A second submission of the same confirmation: the first one already did it.
        messages.info(request, _("This was already sent; nothing was done twice."))
        return redirect("dashboard:overview")
    if step == "confirm":
        if request.POST.get("notice_sha") != notice_sha(text):
            messages.warning(
                request, _("The text changed (for example the language); read it again.")
            )
        else:
            passed, step_up_form = _step_up(request)
            if passed:
                try:
                    if replacing is None:
                        consent = services.consent_grant(
                            subject_id=subject.person.id,
                            actor=services.Actor.person(person.id),
                            kind=kind,
                            scope=scope,
                            notice_text=text,
                            language=notice_language(),
                            valid_until=valid_until,
                        )
                        messages.success(request, _("Consent given. Your receipt is ready."))
                    else:
                        consent = services.consent_change(
                            consent=replacing,
                            actor=services.Actor.person(person.id),
                            scope=scope,
                            notice_text=text,
                            language=notice_language(),
                            valid_until=valid_until,
                        )
                        messages.success(request, _("Consent changed. Your receipt is ready."))
                except ConsentError as exc:
                    return _service_error(request, form, exc, subject, kind, replacing)
                _confirm_token_use(request)
                return redirect("dashboard:consent", consent_id=consent.id)
    return render(
        request,
        "dashboard/consent_confirm.html",
        {
            "form": form,
            "subject": subject,
            "kind": kind,
            "kind_label": L.label(L.KINDS, kind),
            "replacing": replacing,
            "rows": rows,
            "notice": text,
            "notice_sha": notice_sha(text),
            "confirm_token": _confirm_token_new(request),
            "preview": preview(
                at=at,
                proposed=proposed,
                replacing=replacing,
            ),
            "needs_step_up": not step_up_fresh(request),
            "step_up_form": step_up_form,
            "action": action,
        },
    )


def _service_error(
    request: HttpRequest,
    form: ConsentForm,
    exc: ConsentError,
    subject: S.Subject,
    kind: str,
    replacing: Consent | None,
) -> HttpResponse:
    placed = False
    for error in exc.errors:
        field = form.field_for_pointer(error.pointer)
        if field and field in form.fields:
            form.add_error(field, error.message)
            placed = True
    if not placed:
        form.add_error(None, _error_text(exc))
    status = 403 if exc.status == 403 else 200
    response = _render_form(request, form, subject, kind, replacing)
    response.status_code = status
    return response


def _render_form(
    request: HttpRequest,
    form: ConsentForm,
    subject: S.Subject,
    kind: str,
    replacing: Consent | None,
) -> HttpResponse:
    return render(
        request,
        "dashboard/consent_form.html",
        {
            "form": form,
            "subject": subject,
            "kind": kind,
            "kind_label": L.label(L.KINDS, kind),
            "kind_help": L.label(L.KIND_HELP, kind),
            "replacing": replacing,
        },
    )


@citizen_required
def consent_detail(request: HttpRequest, person: Person, consent_id: UUID) -> HttpResponse:
    at = _now()
    consent = S.consent_or_404(person, consent_id, at=at)
    _enter(request, S.subject_or_404(person, consent.subject_id, at=at))
    context = _consent_context(consent, person, at)
    context.update(
        {
            "latest": S.latest_version(consent),
            "history": S.history(consent, viewer=person),
            "receipts": [(r, L.label(L.EVENTS, r.event_type)) for r in S.receipts_for(consent)],
            "notice": consent.notice.text if consent.notice else "",
            "notice_language": consent.notice.language if consent.notice else "",
            "requester": S.provider_names().get(consent.requested_by, consent.requested_by),
        }
    )
    return render(request, "dashboard/consent_detail.html", context)


# Withdraw, pause and resume: a confirmation page, then one service call.
# Whether an action is offered comes from the one transition table, never a list of our own.
ACTIONS: dict[str, dict[str, Any]] = {
    "withdraw": {"service": services.consent_withdraw, "target": Status.WITHDRAWN},
    "pause": {"service": services.consent_pause, "target": Status.PAUSED},
    "resume": {"service": services.consent_resume, "target": Status.ACTIVE},
}


@citizen_required
@require_http_methods(["GET", "POST"])
def consent_action(
    request: HttpRequest, person: Person, consent_id: UUID, action: str
) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    spec = ACTIONS[action]
    at = _now()
    consent = S.consent_or_404(person, consent_id, at=at)
    _enter(request, S.subject_or_404(person, consent.subject_id, at=at))
    if action == "withdraw" and consent.status == Status.WITHDRAWN:
        messages.info(request, _("This consent is already withdrawn. Nothing more to do."))
        return redirect("dashboard:consent", consent_id=consent.id)
    step_up_form = _step_up_form(request)
    if request.method == "POST":
        passed, step_up_form = _step_up(request)
        if passed:
            try:
                spec["service"](
                    consent=consent,
                    actor=services.Actor.person(person.id),
                    reason=request.POST.get("reason", "")[:200],
                )
            except ConsentError as exc:
                consent.refresh_from_db()
                if exc.code == "transition-forbidden" and consent.status == spec["target"]:
                    text = {
                        "withdraw": _("This consent is already withdrawn. Nothing more to do."),
                        "pause": _("This consent is already paused."),
                        "resume": _("This consent is already in force."),
                    }[action]
                    messages.info(request, text)
                else:
                    messages.error(request, _error_text(exc))
                return redirect("dashboard:consent", consent_id=consent.id)
            done = {
                "withdraw": _("The consent is withdrawn. No data is disclosed under it any more."),
                "pause": _("Consent paused. It denies every use until you resume it."),
                "resume": _("Consent resumed. It is in force again."),
            }[action]
            messages.success(request, done)
            return redirect("dashboard:consent", consent_id=consent.id)
    context = _consent_context(consent, person, at)
    after = (
        None
        if spec["target"] != Status.ACTIVE
        else hypothetical(
            kind=consent.kind,
            subject_id=consent.subject_id,
            scope=consent.scope,
            at=at,
            valid_until=consent.valid_until,
            replacing=consent,
        )
    )
    if after is not None:
        after.valid_from = consent.valid_from
    context.update(
        {
            "action": action,
            "allowed": spec["target"] in TRANSITIONS[Status(consent.status)],
            "preview": preview(
                at=at,
                proposed=after,
                replacing=consent,
            ),
            "needs_step_up": not step_up_fresh(request),
            "step_up_form": step_up_form,
        }
    )
    return render(request, "dashboard/consent_action.html", context)


# --- Requests from providers --------------------------------------------------------------------


@citizen_required
def requests_list(request: HttpRequest, person: Person) -> HttpResponse:
    at = _now()
    subjects = S.subjects_for(person, at=at)
    people = {s.person.id: s.person for s in subjects}
    names = _names()
    items = [
        {
            "consent": c,
            "subject": people.get(c.subject_id),
            "is_self": c.subject_id == person.id,
            "requester": names.get(c.requested_by, c.requested_by),
            "kind_label": L.label(L.KINDS, c.kind),
            "rows": S.describe_scope(c.kind, c.scope, names),
            "validity": S.validity(c),
        }
        for c in S.pending_requests(subjects, at=at)
    ]
    return render(request, "dashboard/requests.html", {"items": items})


@citizen_required
@require_http_methods(["GET", "POST"])
def request_answer(request: HttpRequest, person: Person, consent_id: UUID) -> HttpResponse:
    at = _now()
    consent = S.consent_or_404(person, consent_id, at=at)
    if consent.status != Status.REQUESTED:
        messages.info(request, _("This request has already been answered."))
        return redirect("dashboard:consent", consent_id=consent.id)
    subject = S.subject_or_404(person, consent.subject_id, at=at)
    _enter(request, subject)
    names = _names()
    requester = names.get(consent.requested_by, consent.requested_by)
    rows = S.describe_scope(consent.kind, consent.scope, names)
    text = notice_text(
        action="approve",
        kind=consent.kind,
        rows=rows,
        validity=S.validity(consent),
        actor=person,
        subject=subject.person,
        role=subject.role,
        requester=requester,
    )
    step_up_form = _step_up_form(request)
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer == "approve" and request.POST.get("notice_sha") != notice_sha(text):
            messages.warning(
                request, _("The text changed (for example the language); read it again.")
            )
        elif answer in ("approve", "reject"):
            passed, step_up_form = _step_up(request)
            if passed:
                actor = services.Actor.person(person.id)
                try:
                    if answer == "approve":
                        services.consent_approve(
                            consent=consent,
                            actor=actor,
                            notice_text=text,
                            language=notice_language(),
                        )
                        messages.success(request, _("Request approved. Your receipt is ready."))
                    else:
                        services.consent_reject(
                            consent=consent, actor=actor, reason="declined in the dashboard"
                        )
                        messages.success(request, _("Request declined. The provider gets no data."))
                except ConsentError as exc:
                    messages.error(request, _error_text(exc))
                return redirect("dashboard:consent", consent_id=consent.id)
    active = hypothetical(
        kind=consent.kind,
        subject_id=consent.subject_id,
        scope=consent.scope,
        at=at,
        valid_until=consent.valid_until,
        replacing=consent,
    )
    return render(
        request,
        "dashboard/request_answer.html",
        {
            "consent": consent,
            "subject": subject,
            "requester": requester,
            "kind_label": L.label(L.KINDS, consent.kind),
            "rows": rows,
            "validity": S.validity(consent),
            "notice": text,
            "notice_sha": notice_sha(text),
            "preview": preview(
                at=at,
                proposed=active,
                replacing=consent,
            ),
            "needs_step_up": not step_up_fresh(request),
            "step_up_form": step_up_form,
        },
    )


@citizen_required
def offers(request: HttpRequest, person: Person) -> HttpResponse:
    """Offers of services that reached the person under their needs-assessment consents."""
    at = _now()
    offering = kinds_answering(Flow.NEEDS_ASSESSMENT)  # the kinds under which offers come
    ids = {
        s.person.id
        for s in S.subjects_for(person, at=at)
        if any(s.covers(kind) for kind in offering)
    }
    people = S.people_by_id(ids)
    names = _names()
    paginator = Paginator(S.offers_for(ids), 20)
    page = paginator.get_page(request.GET.get("page"))
    items = [
        {
            "offer": o,
            "sender": names.get(o.sender, o.sender),
            "subject": people.get(o.subject_id),
            "is_self": o.subject_id == person.id,
            "life_area": L.label(L.LIFE_AREAS, o.life_area),
            "channel": L.label(L.CHANNELS, o.channel),
        }
        for o in page.object_list
    ]
    return render(request, "dashboard/offers.html", {"items": items, "page": page})


# --- Receipts ---------------------------------------------------------------------------------


@citizen_required
def receipt_download(request: HttpRequest, person: Person, receipt_id: UUID) -> HttpResponse:
    receipt = S.receipt_or_404(person, receipt_id, at=_now())
    response = HttpResponse(receipt.jws, content_type="application/jose")
    stamp = timezone.localtime(receipt.issued_at).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="tahto-receipt-{stamp}.jws"'
    return response


def _receipt_payload(person: Person, receipt_id: UUID) -> tuple[Any, dict[str, Any]]:
    receipt = S.receipt_or_404(person, receipt_id, at=_now())
    return receipt, receipt_verify(receipt.jws, public_jwks())


@citizen_required
def receipt_page(request: HttpRequest, person: Person, receipt_id: UUID) -> HttpResponse:
    """The receipt in words, with links to its PDF and its signed file."""
    receipt, payload = _receipt_payload(person, receipt_id)
    return render(
        request,
        "dashboard/receipt.html",
        {
            "receipt": receipt,
            "readable": R.readable(payload, viewer=person),
            "consent_id": receipt.consent_id,
        },
    )


@citizen_required
def receipt_pdf(request: HttpRequest, person: Person, receipt_id: UUID) -> HttpResponse:
    """The same receipt as a PDF, in the page's language."""
    receipt, payload = _receipt_payload(person, receipt_id)
    footer = _(
        "This is a readable copy of a receipt signed by the operator. The signed file (.jws) "
        "is the proof; check it at Tahto's page Check a receipt."
    )
    body = R.pdf(R.readable(payload, viewer=person), footer=footer)
    response = HttpResponse(body, content_type="application/pdf")
    stamp = timezone.localtime(receipt.issued_at).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="tahto-receipt-{stamp}.pdf"'
    return response


def _receipt_failure(exc: ReceiptInvalid) -> str:
    message = str(exc)
    if message.startswith("bad signature"):
        return _("The signature does not match: the receipt was changed after it was signed.")
    if "no key" in message or "unknown" in message or "kid" in message:
        return _("The receipt was not signed with a key of this operator.")
    if message.startswith("wrong alg") or message.startswith("not a Tahto receipt"):
        return _(
            "This file is not a Tahto consent receipt. Choose the .jws file you downloaded "
            "from a consent's page."
        )
    return _(
        "The file could not be read as a receipt. Choose the .jws file you downloaded from a "
        "consent's page, or paste its text."
    )


@citizen_required
@require_http_methods(["GET", "POST"])
def receipt_verify_view(request: HttpRequest, person: Person) -> HttpResponse:
    context: dict[str, Any] = {}
    if request.method == "POST":
        form = ReceiptVerifyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                payload = receipt_verify(form.cleaned_data["token"], public_jwks())
            except ReceiptInvalid as exc:
                context["failure"] = _receipt_failure(exc)
            else:
                context["readable"] = R.readable(payload, viewer=person)
    else:
        form = ReceiptVerifyForm()
    context["form"] = form
    return render(request, "dashboard/receipt_verify.html", context)


# --- Disclosures ------------------------------------------------------------------------------


@citizen_required
def disclosures(request: HttpRequest, person: Person) -> HttpResponse:
    at = _now()
    subjects = S.subjects_for(person, at=at)
    if request.GET.get("for"):
        subject = S.subject_or_404(person, request.GET.get("for"), at=at)
        _enter(request, subject)
    else:
        subject = S.acting_subject(person, request.session.get(S.ACTING_FOR), at=at)
    names = _names()
    recipients = [
        (r, S.recipient_name(r, names))
        for r in S.disclosure_recipients(subject.person.id, subject.kinds)
    ]
    form = DisclosureFilterForm(request.GET or None, recipients=recipients)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        tz = timezone.get_current_timezone()
        filters = {
            "recipient": d.get("recipient") or "",
            "outcome": d.get("outcome") or "",
            "start": timezone.make_aware(datetime.combine(d["start"], time.min), tz)
            if d.get("start")
            else None,
            "end": timezone.make_aware(datetime.combine(d["end"] + timedelta(days=1), time.min), tz)
            if d.get("end")
            else None,
        }
    paginator = Paginator(S.disclosures(subject.person.id, kinds=subject.kinds, **filters), 20)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    entries = list(page.object_list)
    delivered = S.deliveries_of(entries)
    return render(
        request,
        "dashboard/disclosures.html",
        {
            "form": form,
            "subjects": subjects,
            "subject": subject,
            "page": page,
            "rows": [S.disclosure_row(e, names, delivered=delivered) for e in entries],
            "query": query.urlencode(),
        },
    )


# --- Sign-in security: an optional authenticator app -----------------------------------------


@citizen_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest, person: Person) -> HttpResponse:
    """Enrol (or remove) an authenticator app; step-up then asks its code, not the password.
    Also the page where a person confirms it is them and goes back to `next` (a path here)."""
    user = person.user
    assert user is not None  # citizen_required found the person by their user
    device = TotpDevice.objects.filter(user=user).first()
    step_up_form = _step_up_form(request)
    confirm_form = TotpConfirmForm()
    action = request.POST.get("action", "")
    back = step_up_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST" and action == "step-up":
        # Only the proof: the citizen API and the OAuth approval page send people here.
        passed, step_up_form = _step_up(request)
        if passed:
            messages.success(
                request, _("Confirmed. For the next few minutes you can make changes.")
            )
            return redirect(back or "dashboard:security")
    elif request.method == "POST" and action in ("start", "remove"):
        passed, step_up_form = _step_up(request)
        if passed and action == "start" and not (device and device.confirmed_at):
            TotpDevice.objects.filter(user=user).delete()
            device = TotpDevice.objects.create(user=user, secret=totp_new_secret())
        elif passed and action == "remove" and device is not None:
            device.delete()
            messages.success(request, _("The authenticator app was removed."))
            return redirect("dashboard:security")
    elif request.method == "POST" and action == "confirm" and device and not device.confirmed_at:
        confirm_form = TotpConfirmForm(request.POST)
        if confirm_form.is_valid() and totp_accept(device, confirm_form.cleaned_data["code"]):
            device.confirmed_at = timezone.now()
            device.save(update_fields=["confirmed_at"])
            step_up_record(request)
            messages.success(
                request, _("Done. From now on you confirm changes with a code from the app.")
            )
            return redirect("dashboard:security")
        confirm_form.add_error("code", _("The code is not correct. Try the newest code."))
    return render(
        request,
        "dashboard/security.html",
        {
            "device": device,
            "uri": totp_uri(device, account=user.get_username()) if device else "",
            "confirm_form": confirm_form,
            "step_up_form": step_up_form,
            "needs_step_up": not step_up_fresh(request),
            "next": back,
            "apps": app_authorizations_of(user),
        },
    )


# --- Pages for everyone: the privacy notice and the accessibility statement -----------------


def privacy_notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice (tietosuojaseloste); every receipt's `policyUrl` points here."""
    from django.conf import settings

    return render(
        request,
        "dashboard/privacy.html",
        {
            "operator": settings.TAHTO_OPERATOR_NAME,
            "operator_id": settings.TAHTO_OPERATOR_ID,
        },
    )


def accessibility_statement(request: HttpRequest) -> HttpResponse:
    """The accessibility statement (saavutettavuusseloste) Finnish public services must keep."""
    return render(request, "dashboard/accessibility.html")


@citizen_required
@require_http_methods(["POST"])
def app_revoke(request: HttpRequest, person: Person, authorization_id: UUID) -> HttpResponse:
    """Revoke an app the citizen authorized: its tokens stop working at once. No step-up:
    taking access away must be as easy as it can be."""
    if not app_authorization_revoke(
        user=person.user, authorization_id=authorization_id, at=timezone.now()
    ):
        raise Http404
    messages.success(request, _("The app can no longer use Tahto for you."))
    return redirect("dashboard:security")
