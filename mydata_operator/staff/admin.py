"""The admin of people, providers, regulators, users and OAuth clients: the fields that decide
whose data flows where, or who may act, are read-only; each is changed by an action that asks
for the reason and calls its service (which logs the change and ends the codes and tokens
that relied on the old value)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from oauth2_provider.models import (
    get_access_token_admin_class,
    get_access_token_model,
    get_application_admin_class,
    get_application_model,
    get_grant_admin_class,
    get_grant_model,
    get_id_token_admin_class,
    get_id_token_model,
    get_refresh_token_admin_class,
    get_refresh_token_model,
)

from consents.errors import ConsentError
from mydata_operator.identity.models import Person, Provider, Regulator
from mydata_operator.provider_api.models import ClientKey

from . import forms as F
from . import services
from .services import StaffActor

#: Where a service's error points, and the form field it belongs to.
POINTER_FIELDS = {
    "/personalIdentityCode": "personal_identity_code",
    "/organisationId": "organisation_id",
    "/organisation": "organisation",
    "/reason": "reason",
    "/redirectUris": "redirect_uris",
    "/isStaff": "is_staff",
    "/password": "password",
    "/email": "email",
    "/isActive": "active",
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
    """Django's user admin, with who may act read-only: staff and superuser rights, groups and
    permissions, the password, the e-mail address (where password resets go) and whether the
    account is on at all change only by the logged actions. A regulator's user is not deleted
    here: that would end the assignment without a log entry; take it away first."""

    actions = ["assign_regulator", "change_rights", "set_password", "change_email", "set_active"]
    #: Changed only by the logged actions (groups and per-user permissions are not used by
    #: this service: staff rights are `is_staff` and `is_superuser`).
    LOGGED_FIELDS = (
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "email",
    )
    # Without the password row: its "Reset password" button leads to Django's unlogged page.
    fieldsets = ((None, {"fields": ("username",)}), *(UserAdmin.fieldsets or ())[1:])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, *self.LOGGED_FIELDS] if obj is not None else fields

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Django's "set password" page writes no log entry: the logged action does it.
        raise PermissionDenied("Use the action 'Set a new password (logged)' on the user list.")

    def has_superuser_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

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

    @admin.action(
        description="Change staff rights (logged; superusers)…", permissions=["superuser"]
    )
    def change_rights(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        def apply(user: Any, data: dict[str, Any], actor: StaffActor) -> str:
            services.user_rights_change(
                user=user,
                is_staff=data["is_staff"],
                is_superuser=data["is_superuser"],
                actor=actor,
                reason=data["reason"],
            )
            return f"The rights of {user} were changed; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="change_rights",
            form_class=F.UserRightsForm,
            title="Change staff rights",
            explanation="Staff may use this admin; a superuser may do everything in it. Not for "
            "your own account. The change, your user name and the reason are written to the "
            "consent log.",
            apply=apply,
        )

    @admin.action(description="Set a new password (logged; superusers)…", permissions=["superuser"])
    def set_password(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        def apply(user: Any, data: dict[str, Any], actor: StaffActor) -> str:
            services.user_password_set(
                user=user, password=data["password"], actor=actor, reason=data["reason"]
            )
            return f"The password of {user} was set; their other sessions end. It is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="set_password",
            form_class=F.PasswordSetForm,
            title="Set a new password",
            explanation="Not for your own account (change yours on the password page). That it "
            "was set, your user name and the reason are written to the consent log, never the "
            "password.",
            apply=apply,
        )

    @admin.action(description="Change the e-mail address (logged)…")
    def change_email(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        def apply(user: Any, data: dict[str, Any], actor: StaffActor) -> str:
            services.user_email_change(
                user=user, email=data["email"], actor=actor, reason=data["reason"]
            )
            return f"The e-mail address of {user} was changed; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="change_email",
            form_class=F.EmailForm,
            title="Change the e-mail address",
            explanation="Password resets are sent there. That it changed, your user name and "
            "the reason are written to the consent log (not the addresses).",
            apply=apply,
        )

    @admin.action(
        description="Turn the account off or on (logged; superusers)…", permissions=["superuser"]
    )
    def set_active(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        def apply(user: Any, data: dict[str, Any], actor: StaffActor) -> str:
            services.user_active_set(
                user=user, active=data["active"], actor=actor, reason=data["reason"]
            )
            if data["active"]:
                return f"The account of {user} is on again; it is in the log."
            return f"The account of {user} is off and they are signed out; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="set_active",
            form_class=F.UserActiveForm,
            title="Turn the account off or on",
            explanation="Off signs the user out everywhere and ends their apps' authorizations "
            "and the codes not yet exchanged for their consents; on again brings none of them "
            "back. Not for your own account. The change, your user name and the reason are "
            "written to the consent log.",
            apply=apply,
        )


class _ViewOnly:
    """An admin of rows that change only through the OAuth flows or a logged action."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


Application = get_application_model()
admin.site.unregister(Application)


@admin.register(Application)
class ClientAdmin(_ViewOnly, get_application_admin_class()):  # type: ignore[misc]
    """OAuth clients, view only: who a client is (client id, type, grant type, owner, secret)
    is set when `manage.py register_provider` / `register_citizen_app` registers it and never
    changes; its redirect URIs change by the logged action. Not deleted here (that would end
    its keys and tokens without a log entry)."""

    actions = ["change_redirect_uris"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Change the redirect URIs (logged; ends what went to old ones)…")
    def change_redirect_uris(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        def apply(application: Any, data: dict[str, Any], actor: StaffActor) -> str:
            services.client_redirect_uris_change(
                application=application,
                redirect_uris=data["redirect_uris"].split(),
                actor=actor,
                reason=data["reason"],
            )
            return f"The redirect URIs of {application} were changed; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="change_redirect_uris",
            form_class=F.RedirectUrisForm,
            title="Change the redirect URIs",
            explanation="For every URI taken away, the codes and pushed requests for it end, "
            "and so do the client's tokens. The change, your user name and the reason are "
            "written to the consent log.",
            apply=apply,
        )


@admin.register(ClientKey)
class ClientKeyAdmin(_ViewOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Clients' public signing keys, view only: registered by `manage.py register_provider` /
    `register_client_key`, retired by the logged action."""

    list_display = ["kid", "application", "created_at", "retired_at"]
    list_filter = ["retired_at"]
    search_fields = ["kid", "application__client_id"]
    actions = ["retire"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Retire the key (logged; it authenticates no more)…")
    def retire(self, request: HttpRequest, queryset: QuerySet[ClientKey]) -> Any:
        def apply(key: ClientKey, data: dict[str, Any], actor: StaffActor) -> str:
            services.client_key_retire(key=key, actor=actor, reason=data["reason"])
            return f"The {key} is retired; it is in the log."

        return staff_action(
            self,
            request,
            queryset,
            action="retire",
            form_class=F.ReasonOnlyForm,
            title="Retire the key",
            explanation="No client assertion or JWT signed with it verifies from now on. The "
            "change, your user name and the reason are written to the consent log.",
            apply=apply,
        )


# DOT's tokens and codes: issued by the flows, ended by revocation (DOT's actions) or a
# delete; never edited (a longer expiry or another client would be an unlogged change).
for _model, _admin_class in (
    (get_access_token_model(), get_access_token_admin_class()),
    (get_refresh_token_model(), get_refresh_token_admin_class()),
    (get_grant_model(), get_grant_admin_class()),
    (get_id_token_model(), get_id_token_admin_class()),
):
    admin.site.unregister(_model)
    admin.site.register(_model, type(_admin_class.__name__, (_ViewOnly, _admin_class), {}))
