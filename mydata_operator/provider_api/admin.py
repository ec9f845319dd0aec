from django.contrib import admin

from .models import ConsentAuthorization, TokenBinding


@admin.register(ConsentAuthorization)
class ConsentAuthorizationAdmin(admin.ModelAdmin):
    list_display = ["client_id", "organisation_id", "consent_lineage", "created_at"]
    search_fields = ["client_id", "organisation_id", "=consent_lineage"]
    readonly_fields = [f.name for f in ConsentAuthorization._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(TokenBinding)
class TokenBindingAdmin(admin.ModelAdmin):
    list_display = ["token_checksum", "kind", "authorization", "created_at"]
    readonly_fields = ["token_checksum", "kind", "authorization", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False
