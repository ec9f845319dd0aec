"""The admin of people, providers and regulators: the fields that decide whose data flows
where are read-only; each is changed by an action that asks for the reason and calls its
service (which logs the change and ends the tokens that relied on the old value)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from consents.errors import ConsentError
from mydata_operator.identity.models import Person, Provider, Regulator

from . import forms as F
from . import services
from .services import StaffActor

#: Where a service's error points, and the form field it belongs to.
POINTER_FIELDS = {
    "/personalIdentityCode": "personal_identity_code",
    "/organisationId": "organisation_id",
    "/organisation": "organisation",
    "/reason": "reason",
}

Apply = Callable[[Any, dict[str, Any], StaffActor], str]


def staff_action(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]  # any model's admin
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    form_class: type[forms.Form],
    title: str,
    explanation: str,
    apply: Apply,
) -> TemplateResponse | None:
    """An admin action on one object with a form (the new value and the reason): shows the
    form, then calls `apply` (one service); a service error stays on the form."""
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one row for this.", messages.ERROR)
        return None
    obj = queryset.get()
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            done = apply(obj, form.cleaned_data, StaffActor.of(request.user))  # type: ignore[arg-type]
        except ConsentError as exc:
            placed = False
            for error in exc.errors:
                field = POINTER_FIELDS.get(error.pointer)
                if field in form.fields:
                    form.add_error(field, error.message)
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
        else:
            modeladmin.message_user(request, done, messages.SUCCESS)
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "explanation": explanation,
        "queryset": [obj],
        "form": form,
        "action": action,
        "submit": title,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "staff/action_form.html", context)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["family_name", "given_name", "birth_date", "language"]
    search_fields = ["family_name", "given_name", "=personal_identity_code"]
    actions = ["change_identity_code"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        # Which person the code and the sign-in account name decides whose data flows:
        # changed only by the logged action (the code), never by editing the row.
        return ["personal_identity_code", "user"] if obj is not None else []

    @admin.action(description="Change the identity code (logged; ends the person's tokens)…")
    def change_identity_code(
        self, request: HttpRequest, queryset: QuerySet[Person]
    ) -> TemplateResponse | None:
        def apply(person: Person, data: dict[str, Any], actor: StaffActor) -> str:
            ended = services.identity_code_change(
                person=person,
                code=data["personal_identity_code"],
                actor=actor,
                reason=data["reason"],
            )
            return f"The identity code of {ended} was changed; the change is in the consent log."

        return staff_action(
            self,
            request,
            queryset,
            action="change_identity_code",
            form_class=F.IdentityCodeForm,
            title="Change the identity code",
            explanation="Every provider token bound to this person's consents ends at once; "
            "the change, your user name and the reason are written to the consent log.",
            apply=apply,
        )


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "organisation_id", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "organisation_id"]
    actions = ["change_organisation_id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return ["organisation_id", "application"] if obj is not None else []

    @admin.action(description="Change the organisation id (logged; ends the client's tokens)…")
    def change_organisation_id(
        self, request: HttpRequest, queryset: QuerySet[Provider]
    ) -> TemplateResponse | None:
        def apply(provider: Provider, data: dict[str, Any], actor: StaffActor) -> str:
            services.provider_organisation_change(
                provider=provider,
                organisation_id=data["organisation_id"],
                actor=actor,
                reason=data["reason"],
            )
            return f"The organisation id of {provider.name} was changed; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="change_organisation_id",
            form_class=F.OrganisationIdForm,
            title="Change the organisation id",
            explanation="Every token of this provider's client ends at once; the change, your "
            "user name and the reason are written to the consent log.",
            apply=apply,
        )


@admin.register(Regulator)
class RegulatorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """View only: regulators are assigned from the user list, changed and removed by these
    actions, each logged."""

    list_display = ["user", "organisation"]
    actions = ["change_organisation", "unassign"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Change the organisation (logged)…")
    def change_organisation(
        self, request: HttpRequest, queryset: QuerySet[Regulator]
    ) -> TemplateResponse | None:
        def apply(regulator: Regulator, data: dict[str, Any], actor: StaffActor) -> str:
            services.regulator_change(
                regulator=regulator,
                organisation=data["organisation"],
                actor=actor,
                reason=data["reason"],
            )
            return f"{regulator.user} now inspects for {data['organisation']}; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="change_organisation",
            form_class=F.RegulatorOrganisationForm,
            title="Change the regulator's organisation",
            explanation="The change, your user name and the reason are written to the log.",
            apply=apply,
        )

    @admin.action(description="Take the regulator access away (logged)…")
    def unassign(
        self, request: HttpRequest, queryset: QuerySet[Regulator]
    ) -> TemplateResponse | None:
        def apply(regulator: Regulator, data: dict[str, Any], actor: StaffActor) -> str:
            services.regulator_unassign(regulator=regulator, actor=actor, reason=data["reason"])
            return f"{regulator.user} is no longer a regulator; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="unassign",
            form_class=F.ReasonOnlyForm,
            title="Take the regulator access away",
            explanation="It ends at the user's next request. The change, your user name and "
            "the reason are written to the consent log.",
            apply=apply,
        )


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Django's user admin, plus assigning a regulator (logged). A regulator's user is not
    deleted here: that would end the assignment without a log entry; take it away first."""

    actions = ["assign_regulator"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and Regulator.objects.filter(user_id=obj.pk).exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, where the check above applies
        return actions

    @admin.action(description="Make a regulator (logged)…")
    def assign_regulator(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        def apply(user: Any, data: dict[str, Any], actor: StaffActor) -> str:
            services.regulator_assign(
                user=user, organisation=data["organisation"], actor=actor, reason=data["reason"]
            )
            return f"{user} is now a regulator for {data['organisation']}; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="assign_regulator",
            form_class=F.RegulatorOrganisationForm,
            title="Make a regulator",
            explanation="The user may then read and export the whole consent log. The change, "
            "your user name and the reason are written to the consent log.",
            apply=apply,
        )
