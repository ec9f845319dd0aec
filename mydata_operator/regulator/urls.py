"""Routes of the regulator app, mounted at /regulator/: pages, downloads and the JSON API."""

from django.urls import URLPattern, URLResolver, path

from . import api, views

app_name = "regulator"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.search, name="search"),
    path("entries/<int:seq>/", views.entry_detail, name="entry"),
    path("consents/<uuid:consent>/", views.consent_detail, name="consent"),
    path("export/", views.export_page, name="export"),
    path("export/entries.jsonl", views.export_jsonl, name="export-jsonl"),
    path("export/entries.csv", views.export_csv, name="export-csv"),
    path("statistics/", views.statistics, name="statistics"),
    path("integrity/", views.integrity, name="integrity"),
    path("api/entries", api.LogEntrySearchApi.as_view(), name="api-entries"),
    path("api/entries/<int:seq>", api.LogEntryDetailApi.as_view(), name="api-entry"),
    path("api/consents/<uuid:consent>", api.ConsentHistoryApi.as_view(), name="api-consent"),
    path("api/statistics", api.StatisticsApi.as_view(), name="api-statistics"),
    path("api/tree-head", api.TreeHeadCheckApi.as_view(), name="api-tree-head"),
    path("api/tree-heads/<int:size>", api.TreeHeadApi.as_view(), name="api-tree-heads"),
    path("api/jwks.json", api.JwksApi.as_view(), name="api-jwks"),
]
