from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "mydata_operator.dashboard"
    label = "dashboard"
    verbose_name = "Citizen dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .stepup import on_login

        user_logged_in.connect(on_login, dispatch_uid="tahto-dashboard-step-up")
