from django.urls import path

from . import log

urlpatterns = [
    path("log/tree-head", log.LogTreeHeadApi.as_view(), name="log-tree-head"),
    path("log/proofs/inclusion", log.LogInclusionProofApi.as_view(), name="log-inclusion"),
    path("log/proofs/consistency", log.LogConsistencyProofApi.as_view(), name="log-consistency"),
    path("log/entries/<int:seq>", log.LogEntryApi.as_view(), name="log-entry"),
]
