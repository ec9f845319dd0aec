from django.apps import AppConfig


class ProviderApiConfig(AppConfig):
    name = "mydata_operator.provider_api"
    label = "provider_api"
    verbose_name = "Provider API (PSD2-style)"
    default_auto_field = "django.db.models.BigAutoField"
