from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "mydata_operator.dashboard"
    label = "dashboard"
    verbose_name = "Citizen dashboard"
    default_auto_field = "django.db.models.BigAutoField"
