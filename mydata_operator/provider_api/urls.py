from django.urls import URLPattern, URLResolver, path

from . import flows, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("consent-requests", views.ConsentRequestCreateApi.as_view(), name="consent-requests"),
    path(
        "consent-requests/<uuid:consent_id>",
        views.ConsentRequestDetailApi.as_view(),
        name="consent-request",
    ),
    path(
        "consent-requests/<uuid:consent_id>/status",
        views.ConsentRequestStatusApi.as_view(),
        name="consent-request-status",
    ),
    path("data/<str:resource_type>", views.DataSearchApi.as_view(), name="provider-data"),
    path("wellbeing/observations", flows.WellbeingSubmitApi.as_view(), name="wellbeing-submit"),
    path("needs-assessment/offers", flows.OfferSubmitApi.as_view(), name="offers"),
    path("research-requests", flows.ResearchRequestApi.as_view(), name="research-requests"),
    path("webhooks", views.WebhookListApi.as_view(), name="webhooks"),
    path("webhooks/<uuid:webhook_id>", views.WebhookDetailApi.as_view(), name="webhook"),
]
