from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "mydata_operator.identity"
    label = "identity"
    verbose_name = "Identity: citizens, providers, regulators"
    default_auto_field = "django.db.models.BigAutoField"
