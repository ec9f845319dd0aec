"""Reading the consent binding of authorizations and tokens: which consent, which provider,
what the authorization granted. Whether a token is alive, and revoking tokens, is
`tokens.py`'s."""

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from oauth2_provider.models import AccessToken

from consents.kinds import KINDS, kind_spec
from consents.models import Consent, Status
from consents.policy import Recipient
from mydata_operator.identity.models import Provider

from .models import ConsentAuthorization, TokenBinding

#: Consent kinds whose consents bind access tokens (data the provider fetches); each kind says.
TOKEN_KINDS = frozenset(code for code, kind in KINDS.items() if kind.token_bound)

AUTHORIZATION_DETAILS_TYPE = "tahto_consent"


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def consent_current(lineage: UUID) -> Consent | None:
    """The newest version of a consent (the one in force, or the one that ended it)."""
    return Consent.objects.filter(lineage=lineage).order_by("-version").first()


def recipient_for(provider: Provider) -> Recipient:
    return Recipient(organisation=provider.organisation_id, kind=provider.kind)


def consent_categories(consent: Consent) -> frozenset[str]:
    scope = consent.scope if isinstance(consent.scope, dict) else {}
    return kind_spec(consent.kind).data_categories(scope)


def granted(
    authorization: ConsentAuthorization,
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """The data categories and actions the authorization_details granted (None: not named,
    so the whole consent)."""
    details = authorization.authorization_details
    item = details[0] if isinstance(details, list) and details else {}
    item = item if isinstance(item, dict) else {}

    def named(key: str) -> frozenset[str] | None:
        value = item.get(key)
        return frozenset(str(v) for v in value) if isinstance(value, list) else None

    return named("datatypes"), named("actions")


def authorization_for_token(token_value_checksum: str) -> ConsentAuthorization | None:
    binding = (
        TokenBinding.objects.select_related("authorization")
        .filter(token_checksum=token_value_checksum)
        .first()
    )
    return binding.authorization if binding else None


def token_jkt(token_value_checksum: str) -> str:
    """The DPoP key thumbprint a token is bound to ("" if none)."""
    return (
        TokenBinding.objects.filter(token_checksum=token_value_checksum)
        .values_list("jkt", flat=True)
        .first()
        or ""
    )


def bearer_token_load(value: str) -> AccessToken | None:
    """The access token of a bearer value, with its client, the client's provider and the
    token's consent binding, in one query on unique indexes (the binding's primary key, DOT's
    token checksum, the client's and provider's keys); `token_context` then reads them
    without another query. None when the value is no bound access token."""
    row = (
        TokenBinding.objects.select_related(
            "authorization", "access_token__application__provider", "access_token__user"
        )
        .filter(token_checksum=checksum(value), kind=TokenBinding.Kind.ACCESS)
        .first()
    )
    if row is None or row.access_token is None:
        return None
    token: AccessToken = row.access_token
    token.tahto_authorization = row.authorization  # type: ignore[attr-defined]  # cached read
    token.tahto_jkt = row.jkt  # type: ignore[attr-defined]  # the DPoP key it is bound to
    return token


@dataclass(frozen=True)
class TokenFacts:
    """What introspection says of an access token, read in one statement."""

    application_id: int
    scope: str
    created: datetime
    expires: datetime
    jkt: str  # the DPoP key it is bound to ("" if none)
    authorization: ConsentAuthorization
    consents: list[Consent]  # the versions of its consent not superseded (the decision's input)


_AUTHORIZATION_FIELDS = list(ConsentAuthorization._meta.concrete_fields)
_CONSENT_FIELDS = list(Consent._meta.concrete_fields)


#: Per model and database vendor: each field's column expression and its converters, as the
#: ORM would apply them (worked out once: it was half the cost of reading a row this way).
_CONVERTERS: dict[tuple[str, tuple[Any, ...]], tuple[list[str], list[tuple[Any, list[Any]]]]] = {}


def model_from_row(model: Any, fields: list[Any], values: Any) -> Any:
    """A model instance from the raw column values of `fields`, converted as the ORM would
    (the backend's converters, then the field's own): for statements the ORM cannot write."""
    key = (connection.vendor, tuple(fields))
    if key not in _CONVERTERS:
        known = []
        for field in fields:
            col = field.get_col(model._meta.db_table)
            converters = [
                *connection.ops.get_db_converters(col),
                *field.get_db_converters(connection),
            ]
            known.append((col, converters))
        _CONVERTERS[key] = ([f.attname for f in fields], known)
    names, known = _CONVERTERS[key]
    converted = []
    for (col, converters), value in zip(known, values, strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


@functools.cache
def _token_facts_sql(vendor: str) -> str:
    """`token_facts`'s statement, built once per database vendor (names from the models)."""
    q = connection.ops.quote_name
    authorization_columns = ", ".join(f"z.{q(f.column)}" for f in _AUTHORIZATION_FIELDS)
    consent_columns = ", ".join(f"c.{q(f.column)}" for f in _CONSENT_FIELDS)
    return f"""
        SELECT t.application_id, t.scope, t.created, t.expires, b.jkt,
               {authorization_columns}, {consent_columns}
        FROM {q(TokenBinding._meta.db_table)} b
        JOIN {q(AccessToken._meta.db_table)} t ON t.token_checksum = b.token_checksum
        JOIN {q(ConsentAuthorization._meta.db_table)} z ON z.id = b.authorization_id
        LEFT JOIN {q(Consent._meta.db_table)} c
            ON c.lineage = z.consent_lineage AND c.status <> %s
        WHERE b.token_checksum = %s AND b.kind = %s
    """  # noqa: S608 - table and column names from the models


def token_facts(value: str) -> TokenFacts | None:
    """The access token of a value with its consent authorization and the versions of its
    consent that are not superseded (what `consents.policy` decides on): one statement on the
    binding's primary key, DOT's token checksum and the consent's lineage. None when the
    value is no consent-bound access token (DOT deletes a revoked token's row)."""
    sql = _token_facts_sql(connection.vendor)
    params = [Status.SUPERSEDED.value, checksum(value), TokenBinding.Kind.ACCESS.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    split = 5 + len(_AUTHORIZATION_FIELDS)
    authorization = model_from_row(ConsentAuthorization, _AUTHORIZATION_FIELDS, rows[0][5:split])
    consents = [
        model_from_row(Consent, _CONSENT_FIELDS, row[split:])
        for row in rows
        if row[split] is not None
    ]
    application_id, scope, created, expires, jkt = rows[0][:5]
    if connection.vendor != "postgresql":  # SQLite: naive UTC, made aware as its ORM does
        created, expires = (
            connection.ops.convert_datetimefield_value(v, None, connection)  # type: ignore[attr-defined]
            for v in (created, expires)
        )
    return TokenFacts(application_id, scope, created, expires, jkt or "", authorization, consents)


def token_context(token: AccessToken) -> tuple[ConsentAuthorization | None, Provider | None]:
    """The consent authorization a token is bound to and the provider whose client holds it:
    as `bearer_token_load` read them, or read now (two queries) for a token loaded otherwise."""
    authorization = getattr(token, "tahto_authorization", None)
    if authorization is None:
        authorization = authorization_for_token(token.token_checksum)
        provider = Provider.objects.filter(application_id=token.application_id).first()
        return authorization, provider
    # Loaded with the token: a client without a provider reads as None (no query).
    return authorization, getattr(token.application, "provider", None)


def tokens_bind(
    *, authorization: ConsentAuthorization, token: dict[str, Any], at: datetime, jkt: str
) -> None:
    """Record that the access (and refresh) token in an OAuth token response use
    `authorization` and are bound to the DPoP key `jkt`."""
    for key, kind in (("access_token", TokenBinding.Kind.ACCESS), ("refresh_token", "refresh")):
        if value := token.get(key):
            TokenBinding.objects.create(
                token_checksum=checksum(value),
                kind=kind,
                authorization=authorization,
                created_at=at,
                jkt=jkt,
            )
