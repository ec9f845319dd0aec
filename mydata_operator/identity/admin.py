from django.contrib import admin

from .models import Person, Provider, Regulator


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["family_name", "given_name", "birth_date", "language"]
    search_fields = ["family_name", "given_name", "=personal_identity_code"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation_id", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "organisation_id"]


@admin.register(Regulator)
class RegulatorAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation"]
