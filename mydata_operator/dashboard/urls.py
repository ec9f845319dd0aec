"""The dashboard's pages, mounted at "/" (namespace "dashboard")."""

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("consents/", views.overview, name="overview"),
    path("consents/new/<slug:kind>/", views.consent_new, name="consent-new"),
    path("consents/<uuid:consent_id>/", views.consent_detail, name="consent"),
    path("consents/<uuid:consent_id>/change/", views.consent_change, name="consent-change"),
    path("consents/<uuid:consent_id>/<slug:action>/", views.consent_action, name="consent-action"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<uuid:consent_id>/", views.request_answer, name="request"),
    path("offers/", views.offers, name="offers"),
    path("security/", views.security, name="security"),
    path("security/apps/<uuid:authorization_id>/revoke/", views.app_revoke, name="app-revoke"),
    path("receipts/verify/", views.receipt_verify_view, name="receipt-verify"),
    path("receipts/<uuid:receipt_id>.jws", views.receipt_download, name="receipt"),
    path("receipts/<uuid:receipt_id>/", views.receipt_page, name="receipt-page"),
    path("receipts/<uuid:receipt_id>.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("acting-for/", views.acting_for_switch, name="acting-for"),
    path("policy", views.privacy_notice, name="privacy"),
    path("accessibility/", views.accessibility_statement, name="accessibility"),
    path("disclosures/", views.disclosures, name="disclosures"),
]
