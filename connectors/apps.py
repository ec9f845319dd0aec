from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors: consent enforced on every data flow"
    default_auto_field = "django.db.models.BigAutoField"
