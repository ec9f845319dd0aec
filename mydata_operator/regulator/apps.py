from django.apps import AppConfig


class RegulatorConfig(AppConfig):
    name = "mydata_operator.regulator"
    label = "regulator"
    verbose_name = "Regulator: log inspection"
    default_auto_field = "django.db.models.BigAutoField"
