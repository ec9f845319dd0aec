from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "mydata_operator.staff"
    label = "staff"
    verbose_name = "Operator staff: logged changes"
