from django.urls import path

from . import consents

urlpatterns = [
    path("me/consents", consents.ConsentListApi.as_view(), name="me-consents"),
    path("me/consents/<uuid:consent_id>", consents.ConsentDetailApi.as_view(), name="me-consent"),
    path("me/consents/<uuid:consent_id>/change", consents.ConsentChangeApi.as_view()),
    path("me/consents/<uuid:consent_id>/approve", consents.ConsentApproveApi.as_view()),
    path("me/consents/<uuid:consent_id>/history", consents.ConsentHistoryApi.as_view()),
    path("me/consents/<uuid:consent_id>/fhir", consents.ConsentFhirApi.as_view()),
    path("me/consents/<uuid:consent_id>/receipts", consents.ConsentReceiptListApi.as_view()),
    path(
        "me/consents/<uuid:consent_id>/<str:action>",
        consents.ConsentActionApi.as_view(),
        name="me-consent-action",
    ),
    path("me/receipts/<uuid:receipt_id>.jws", consents.ReceiptDownloadApi.as_view()),
]
