"""The citizen's consent API (/api/v1/me/...): the dashboard's acts as JSON, for the
citizen's own apps. Shared plumbing (problem+json, parsers, OpenAPI helpers, who may see
what) is in `mydata_operator.api`."""
