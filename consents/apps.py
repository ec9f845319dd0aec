from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Consents and the consent log"
    default_auto_field = "django.db.models.BigAutoField"
