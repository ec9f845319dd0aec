from django.urls import path

from . import apis

urlpatterns = [
    path("me/consents", apis.ConsentListApi.as_view(), name="me-consents"),
    path("me/consents/<uuid:consent_id>", apis.ConsentDetailApi.as_view(), name="me-consent"),
    path(
        "me/consents/<uuid:consent_id>/change",
        apis.ConsentChangeApi.as_view(),
        name="me-consent-change",
    ),
    path(
        "me/consents/<uuid:consent_id>/approve",
        apis.ConsentApproveApi.as_view(),
        name="me-consent-approve",
    ),
    path(
        "me/consents/<uuid:consent_id>/history",
        apis.ConsentHistoryApi.as_view(),
        name="me-consent-history",
    ),
    path(
        "me/consents/<uuid:consent_id>/fhir", apis.ConsentFhirApi.as_view(), name="me-consent-fhir"
    ),
    path(
        "me/consents/<uuid:consent_id>/receipts",
        apis.ConsentReceiptListApi.as_view(),
        name="me-consent-receipts",
    ),
    path(
        "me/consents/<uuid:consent_id>/<str:action>",
        apis.ConsentActionApi.as_view(),
        name="me-consent-action",
    ),
    path("me/receipts/<uuid:receipt_id>.jws", apis.ReceiptDownloadApi.as_view(), name="me-receipt"),
]
