"""Routes of the public log API, mounted at /api/v1/ (the paths it has always had)."""

from django.urls import URLPattern, path

from . import apis

urlpatterns: list[URLPattern] = [
    path("log/tree-head", apis.LogTreeHeadApi.as_view(), name="log-tree-head"),
    path("log/checkpoint", apis.LogCheckpointApi.as_view(), name="log-checkpoint"),
    path("log/checkpoint-key", apis.LogCheckpointKeyApi.as_view(), name="log-checkpoint-key"),
    path("log/cosignatures", apis.LogCosignatureAddApi.as_view(), name="log-cosignatures"),
    path("log/witnesses", apis.LogWitnessListApi.as_view(), name="log-witnesses"),
    path("log/proofs/inclusion", apis.LogInclusionProofApi.as_view(), name="log-inclusion"),
    path("log/proofs/consistency", apis.LogConsistencyProofApi.as_view(), name="log-consistency"),
    path("log/entries/<int:seq>", apis.LogEntryApi.as_view(), name="log-entry"),
    path(
        "log/entries/by-id/<int:entry_id>",
        apis.LogEntryByIdApi.as_view(),
        name="log-entry-by-id",
    ),
]
