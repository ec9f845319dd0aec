from django.urls import path

from mydata_operator.views import home

urlpatterns = [path("", home, name="home")]
