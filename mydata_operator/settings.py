"""Settings for the Tahto operator service.

Every value comes from the environment; the defaults are the embedded mode
(SQLite, a filesystem Celery broker, keys in ./var) so `make run` needs no server.
Production values come only from the environment.
"""

import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TAHTO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Take the key from the environment, or keep a generated one in var/ for embedded mode."""
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_urlsafe(50)
        fh.write(key)
    return key


SECRET_KEY = _secret_key()
# Key of the pseudonymous subject id a person not yet known has (identity.selectors
# .subject_pseudonym). Set it in production and never change it: a person who joins later is
# given this id, so the requests made for them before they joined are theirs.
TAHTO_PSEUDONYM_KEY = (
    os.environ.get("TAHTO_PSEUDONYM_KEY")
    or hashlib.sha256(b"tahto-pseudonym-key:" + SECRET_KEY.encode()).hexdigest()
)
DEBUG = _env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "consents",
    "connectors",
    "mydata_operator.identity",
    "mydata_operator.provider_api",
    "mydata_operator.dashboard",
    "mydata_operator.regulator",
    "mydata_operator.security",
    "mydata_operator.staff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mydata_operator.security.middleware.BodyLimitMiddleware",
    "mydata_operator.security.middleware.ClientAuthLockoutMiddleware",
    "mydata_operator.security.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "mydata_operator.api.language.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mydata_operator.security.middleware.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mydata_operator.urls"
WSGI_APPLICATION = "mydata_operator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "mydata_operator" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mydata_operator.dashboard.context_processors.acting_for",
            ],
        },
    },
]

# --- Database: SQLite file in var/ unless DATABASE_URL names another (PostgreSQL in production).
# On PostgreSQL the service connects as DATABASE_URL's role, which may only read and append the
# log tables (`manage.py db_roles`); migrations run as the owner, DATABASE_OWNER_URL, when the
# process is started with TAHTO_DB_AS_OWNER=1 (as `make migrate` does).
_SERVICE_DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tahto.sqlite3'}")
_OWNER_DATABASE_URL = os.environ.get("DATABASE_OWNER_URL", "")
TAHTO_SERVICE_DATABASE = dj_database_url.parse(_SERVICE_DATABASE_URL)
DATABASES = {
    "default": dj_database_url.parse(
        _OWNER_DATABASE_URL
        if _OWNER_DATABASE_URL and _env_bool("TAHTO_DB_AS_OWNER", False)
        else _SERVICE_DATABASE_URL,
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
# Serving (README, "Serving"): on PostgreSQL each web thread keeps its connection for
# DATABASE_CONN_MAX_AGE seconds (health-checked before reuse), or, with DATABASE_POOL set
# to "min:max", the threads share psycopg's pool (Django 5.1+; needs psycopg-pool). Opening
# a connection per request was a fifth of a data call's time.
_DB_POOL = os.environ.get("DATABASE_POOL", "")
# A kept connection idle for this long is health-checked before use (mydata_operator.pgbackend).
TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS = float(
    os.environ.get("TAHTO_DB_HEALTH_CHECK_IDLE_SECONDS", "2")
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "mydata_operator.pgbackend"
    if _DB_POOL:
        _min, _, _max = _DB_POOL.partition(":")
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses both at once
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(_min),
            "max_size": int(_max or _min),
            "timeout": 10,
        }
    elif "DATABASE_CONN_MAX_AGE" not in os.environ:
        DATABASES["default"]["CONN_MAX_AGE"] = 600
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the Celery worker write to the same file: WAL lets readers go on,
    # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of deadlocking.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# A PostgreSQL streaming replica, if DATABASE_REPLICA_URL names one: the regulator's reads
# (search, export, statistics) go there, writes always to the primary (mydata_operator.replica).
# Tests point it at the primary's test database by name (MIRROR), on the replica's own server:
# the standby replays the test database the suite creates on the primary.
_REPLICA_DATABASE_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if _REPLICA_DATABASE_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(
            _REPLICA_DATABASE_URL,
            # Kept open as the primary's are (without the pool: the replica serves few threads).
            conn_max_age=int(
                os.environ.get("DATABASE_CONN_MAX_AGE", "600" if not _DB_POOL else "0")
            ),
            conn_health_checks=True,
        ),
        "TEST": {"MIRROR": "default"},
    }
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"]["ENGINE"] = "mydata_operator.pgbackend"
DATABASE_ROUTERS = ["mydata_operator.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fi"
LANGUAGES = [("fi", "Suomi"), ("sv", "Svenska"), ("en", "English")]
# Dates as written in Finland in every language (30.11.2026 in Swedish, not ISO; 30 Nov 2026
# in English, not American): mydata_operator/formats/<language>/formats.py.
FORMAT_MODULE_PATH = ["mydata_operator.formats"]
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "mydata_operator" / "api" / "locale"]
TIME_ZONE = "Europe/Helsinki"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Browser and session (docs/security.md)
# Cookies are `Secure` except when the service's public URL is http on this machine (the
# embedded demo, http://127.0.0.1:8000 by default, where a browser would not send Secure
# cookies back): any other public URL, which every deployment sets (it is the OAuth issuer),
# gets Secure cookies. DJANGO_SECURE_COOKIES overrides it either way.
_public = urlsplit(os.environ.get("TAHTO_PUBLIC_URL", "http://127.0.0.1:8000"))
_LOCAL_HTTP = _public.scheme == "http" and _public.hostname in {"127.0.0.1", "localhost", "::1"}
SESSION_COOKIE_SECURE = _env_bool("DJANGO_SECURE_COOKIES", not _LOCAL_HTTP)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script reads the CSRF cookie; forms carry the token
LANGUAGE_COOKIE_HTTPONLY = True
# Lax, not Strict: a citizen sent from a provider's site to the OAuth authorize page must
# arrive signed in; Lax still keeps the cookies off cross-site POSTs.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Idle and absolute session timeouts (mydata_operator.security.middleware); the cookie itself
# lives no longer than the absolute timeout.
TAHTO_SESSION_IDLE_SECONDS = int(os.environ.get("TAHTO_SESSION_IDLE_SECONDS", "1800"))
TAHTO_SESSION_ABSOLUTE_SECONDS = int(os.environ.get("TAHTO_SESSION_ABSOLUTE_SECONDS", "43200"))
SESSION_COOKIE_AGE = TAHTO_SESSION_ABSOLUTE_SECONDS
# Database sessions that record the user they are signed in as (security.models.UserSession),
# so every session of one user ends with one statement; expired ones are deleted hourly.
SESSION_ENGINE = "mydata_operator.security.session_store"
# HSTS: Django's SecurityMiddleware sends it only on responses to https requests, so the
# http demo never gets it. Behind a proxy that ends TLS, set TAHTO_TRUST_X_FORWARDED_PROTO=1
# (and let the proxy overwrite X-Forwarded-Proto) so Django knows the request was https.
SECURE_HSTS_SECONDS = int(os.environ.get("TAHTO_HSTS_SECONDS", str(2 * 365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("TAHTO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = False  # preloading is a decision for the domain's owner
if _env_bool("TAHTO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): everything from this origin only, no inline script or
# style, no plugins, no framing, no <base>. form-action is left out on purpose: the OAuth
# authorize page's form answers with a redirect to the provider's own site, which
# form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}
# Bodies above this size are refused: API paths answer 413 problem+json.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("TAHTO_MAX_BODY_BYTES", str(2_621_440)))

# --- Limits (mydata_operator.security.throttle; docs/security.md). Counters live in the cache:
# Redis when TAHTO_CACHE_URL names one (production: every process shares them), else this
# process's memory (embedded mode).
_cache_url = os.environ.get("TAHTO_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tahto"}
    )
}
AUTHENTICATION_BACKENDS = ["mydata_operator.security.throttle.ThrottledModelBackend"]
# Sign-in and step-up: this many failures per user name (or, more, per address) within the
# window lock signing in for the lockout time; the right password is refused meanwhile.
TAHTO_LOGIN_FAILURES = int(os.environ.get("TAHTO_LOGIN_FAILURES", "10"))
TAHTO_LOGIN_ADDRESS_FAILURES = int(os.environ.get("TAHTO_LOGIN_ADDRESS_FAILURES", "100"))
TAHTO_LOGIN_WINDOW_SECONDS = int(os.environ.get("TAHTO_LOGIN_WINDOW_SECONDS", "900"))
TAHTO_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("TAHTO_LOGIN_LOCKOUT_SECONDS", "900"))
# Providers: "count/seconds". Token requests per client id and address; failed client
# authentications before a lockout; consent requests per provider.
TAHTO_TOKEN_RATE = os.environ.get("TAHTO_TOKEN_RATE", "120/60")
TAHTO_CLIENT_AUTH_FAILURES = os.environ.get("TAHTO_CLIENT_AUTH_FAILURES", "20/900")
TAHTO_CLIENT_AUTH_LOCKOUT_SECONDS = int(os.environ.get("TAHTO_CLIENT_AUTH_LOCKOUT_SECONDS", "900"))
TAHTO_CONSENT_REQUEST_RATE = os.environ.get("TAHTO_CONSENT_REQUEST_RATE", "100/60")
# Data requests a day a provider-sharing consent allows when its scope names no
# frequencyPerDay (the schema: "omitted: the operator's default limit"); 0 turns it off.
TAHTO_DEFAULT_FREQUENCY_PER_DAY = int(os.environ.get("TAHTO_DEFAULT_FREQUENCY_PER_DAY", "100"))
# JWTs that clients sign with their registered keys (private_key_jwt, CDS Hooks): the longest
# lifetime accepted and the clock skew allowed (provider_api/client_keys.py).
TAHTO_CLIENT_JWT_MAX_SECONDS = int(os.environ.get("TAHTO_CLIENT_JWT_MAX_SECONDS", "300"))
TAHTO_CLIENT_JWT_SKEW_SECONDS = int(os.environ.get("TAHTO_CLIENT_JWT_SKEW_SECONDS", "30"))
# FAPI 2.0 (issue 10): pushed authorization requests live this long (RFC 9126 expires_in).
TAHTO_PAR_SECONDS = int(os.environ.get("TAHTO_PAR_SECONDS", "90"))
# DPoP (RFC 9449): a proof older than this is refused; with NONCE_REQUIRED every proof must
# carry the server's DPoP-Nonce (sent on every token endpoint and resource response), which
# changes every TAHTO_DPOP_NONCE_SECONDS.
TAHTO_DPOP_MAX_AGE_SECONDS = int(os.environ.get("TAHTO_DPOP_MAX_AGE_SECONDS", "60"))
TAHTO_DPOP_NONCE_REQUIRED = _env_bool("TAHTO_DPOP_NONCE_REQUIRED", False)
TAHTO_DPOP_NONCE_SECONDS = int(os.environ.get("TAHTO_DPOP_NONCE_SECONDS", "300"))

# --- Operator identity and keys
TAHTO_OPERATOR_NAME = os.environ.get("TAHTO_OPERATOR_NAME", "Tahto MyData operator (demo)")
TAHTO_OPERATOR_ID = os.environ.get("TAHTO_OPERATOR_ID", "1.2.246.10.99999999.0")
TAHTO_PUBLIC_URL = os.environ.get("TAHTO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Ed25519 signing keys (receipts, tree heads): PEM files in this folder, created on first use.
TAHTO_KEY_DIR = Path(os.environ.get("TAHTO_KEY_DIR", VAR_DIR / "keys"))
# The log's checkpoint origin (c2sp.org/tlog-checkpoint) and the key name of its signatures:
# a schema-less URL naming this log.
TAHTO_LOG_ORIGIN = os.environ.get(
    "TAHTO_LOG_ORIGIN", TAHTO_PUBLIC_URL.split("://", 1)[-1] + "/consent-log"
)

# --- Django REST framework and OpenAPI
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["mydata_operator.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "mydata_operator.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tahto operator API",
    "DESCRIPTION": "Consents, the tamper-evident consent log and its proofs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from here: no CDN, nothing fetched from outside
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery: a filesystem broker needs no server; set CELERY_BROKER_URL for Redis/RabbitMQ.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),  # default: ./control in the cwd
    }
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "tahto")
# RabbitMQ: "quorum" declares the task queues as quorum queues (x-queue-type: quorum,
# replicated by Raft across the broker's nodes; docs/scaling.md). A queue keeps the type it
# was declared with, so switching an existing broker needs a new queue name or a drained and
# deleted queue. Other brokers ignore it.
CELERY_TASK_DEFAULT_QUEUE_TYPE = os.environ.get("CELERY_TASK_QUEUE_TYPE", "classic")
if CELERY_TASK_DEFAULT_QUEUE_TYPE not in {"classic", "quorum"}:
    raise ValueError(
        f"CELERY_TASK_QUEUE_TYPE must be classic or quorum, not {CELERY_TASK_DEFAULT_QUEUE_TYPE!r}"
    )
CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = CELERY_TASK_DEFAULT_QUEUE_TYPE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = _env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "expire-consents": {"task": "consents.tasks.consents_expire_task", "schedule": 60.0},
    "sign-tree-head": {"task": "consents.tasks.log_sign_tree_head_task", "schedule": 60.0},
    # The integrator process (manage.py log_integrator, started by bin/run-service) integrates
    # within a tenth of a second; this covers a deployment that runs only workers.
    "integrate-log": {
        "task": "consents.tasks.log_integrate_task",
        "schedule": float(os.environ.get("TAHTO_LOG_INTEGRATE_SECONDS", "2")),
    },
    # The whole log, its columns, consents and receipts against the hashed entries and the
    # witnessed checkpoints; the result is stored, shown to regulators and logged.
    "integrity-check": {
        "task": "mydata_operator.regulator.tasks.log_integrity_check_task",
        "schedule": float(os.environ.get("TAHTO_INTEGRITY_CHECK_SECONDS", "300")),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- OAuth 2 (django-oauth-toolkit): providers are confidential clients; see the provider API.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ALLOWED_SCHEMES": ["https", "http"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 300,  # short-lived, as FAPI 2.0 expects (the default is 10 h)
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,  # absolute expiry (the default is never)
    "ROTATE_REFRESH_TOKEN": True,
}

# --- Connectors (issue: connectors): Kanta, providers, the outbox and its periodic sweep
TAHTO_KANTA_URL = os.environ.get("TAHTO_KANTA_URL", "http://127.0.0.1:8001/fhir").rstrip("/")
TAHTO_CONNECTOR_TIMEOUT = float(os.environ.get("TAHTO_CONNECTOR_TIMEOUT", "10"))
# How connectors find a citizen's personal identity code without importing the web layer.
TAHTO_SUBJECT_RESOLVER = os.environ.get(
    "TAHTO_SUBJECT_RESOLVER", "mydata_operator.identity.selectors.personal_identity_code_for"
)
TAHTO_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("TAHTO_OUTBOX_MAX_ATTEMPTS", "12"))
TAHTO_OUTBOX_BACKOFF_SECONDS = float(os.environ.get("TAHTO_OUTBOX_BACKOFF_SECONDS", "5"))
TAHTO_OUTBOX_BACKOFF_MAX_SECONDS = float(os.environ.get("TAHTO_OUTBOX_BACKOFF_MAX_SECONDS", "3600"))
# A claim older than this is taken to belong to a dead worker and may be claimed again.
TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS = float(
    os.environ.get("TAHTO_OUTBOX_CLAIM_TIMEOUT_SECONDS", "120")
)
# Webhooks go only to https URLs whose every address is public (see
# connectors/providers/destinations.py). For tests and the local demo only, this lets a
# receiver on loopback (http too) through; never turn it on in production.
TAHTO_WEBHOOK_ALLOW_LOOPBACK = _env_bool("TAHTO_WEBHOOK_ALLOW_LOOPBACK", False)
_sweep_seconds = float(os.environ.get("TAHTO_OUTBOX_SWEEP_SECONDS", "10"))
CELERY_BEAT_SCHEDULE["connectors-sweep"] = {
    "task": "connectors.tasks.outbox_sweep_task",
    "schedule": _sweep_seconds,
}

# --- Provider API (issue: provider API): consent-bound OAuth on django-oauth-toolkit.
OAUTH2_PROVIDER.update(
    {
        "OAUTH2_VALIDATOR_CLASS": (
            "mydata_operator.provider_api.oauth_validator.ConsentBoundValidator"
        ),
        # Only the authorization-code and refresh grants and the code response type exist
        # here, so anything else is unsupported_grant_type / unsupported_response_type.
        "OAUTH2_SERVER_CLASS": "mydata_operator.provider_api.oauth_validator.FapiServer",
        "SCOPES": {"consent": "Use the one consent named in authorization_details"},
        "DEFAULT_SCOPES": ["consent"],
        # The issuer (RFC 8414 `issuer`, RFC 9207 `iss`) is the public URL of the service.
        "OIDC_ISS_ENDPOINT": TAHTO_PUBLIC_URL,
        "ALLOWED_REDIRECT_URI_SCHEMES": os.environ.get(
            "TAHTO_REDIRECT_URI_SCHEMES", "https,http"
        ).split(","),
        "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a replayed refresh token kills its family
        # RFC 9700 gates, all on: no implicit or password grant, PKCE S256 only, tokens only
        # in the Authorization header, `iss` in the authorization response (RFC 9207),
        # tokens stored only as hashes.
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
        "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": _env_bool("TAHTO_HASHED_TOKENS", True),
        "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
        "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    }
)
# Tokens of ended consents are refused at once by the live checks; this also deletes them.
CELERY_BEAT_SCHEDULE["revoke-ended-consent-tokens"] = {
    "task": "mydata_operator.provider_api.tasks.tokens_revoke_ended_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["prune-dpop-proof-uses"] = {
    "task": "mydata_operator.provider_api.tasks.dpop_uses_prune_task",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["prune-pushed-requests"] = {
    "task": "mydata_operator.provider_api.tasks.pushed_requests_prune_task",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["prune-client-jwt-uses"] = {
    "task": "mydata_operator.provider_api.tasks.client_jwt_uses_prune_task",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["clear-expired-sessions"] = {
    "task": "mydata_operator.security.tasks.sessions_clear_expired_task",
    "schedule": 3600.0,
}

# --- Citizen dashboard (issue: the citizen's consent dashboard)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Step-up: a password (or e-ID re-authentication) within this many seconds before a change.
TAHTO_STEP_UP_SECONDS = int(os.environ.get("TAHTO_STEP_UP_SECONDS", "300"))
