"""Settings, driven by environment variables (see the README's configuration table)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Local state (SQLite database, uploads, the embedded broker's queue) lives in one folder.
DATA_DIR = Path(os.environ.get("WORKBENCH_DATA_DIR", BASE_DIR / ".data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # A real deployment sets DJANGO_SECRET_KEY; a newcomer's machine gets a random key kept in
    # DATA_DIR so that sessions survive restarts. No secret is ever in the repository.
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "workbench",
    "labeling",
    "quality",
]

MIDDLEWARE = [
    "workbench.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "workbench.middleware.ApiErrorMiddleware",
    # Last, as django-axes asks: turns a lockout during authentication into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workbench.urls"
WSGI_APPLICATION = "workbench.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (PostgreSQL in production and CI), else a SQLite file in DATA_DIR.
DATABASES = {
    "default": dj_database_url.config(default=f"sqlite:///{DATA_DIR / 'workbench.sqlite3'}")
}
# Every process (a web worker, a Celery worker) holds at most this many connections to
# PostgreSQL, from a pool: the server sees at most processes x WORKBENCH_DB_POOL_SIZE
# connections however heavy the load (the README's "Database connections").
WORKBENCH_DB_POOL_SIZE = env_int("WORKBENCH_DB_POOL_SIZE", 4)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if env_bool("WORKBENCH_DB_POOL", True):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them, not Django
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 0,
            "max_size": WORKBENCH_DB_POOL_SIZE,
            # A request waits this long for a free connection, then fails with a 503.
            "timeout": env_int("WORKBENCH_DB_POOL_TIMEOUT", 30),
            "max_idle": 300,
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("WORKBENCH_DB_CONN_MAX_AGE", 0)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # The web workers and the embedded worker share the file: WAL lets readers go on while
        # one writer works, and IMMEDIATE transactions wait (up to the timeout) for the write
        # lock instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("WORKBENCH_SQLITE_TIMEOUT", 30),
    }
    # A file (not :memory:) so that a real worker process in the tests sees the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("WORKBENCH_TEST_SQLITE", str(DATA_DIR / "test.sqlite3"))
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username or address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("WORKBENCH_STATIC_ROOT", DATA_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "workbench" / "static"]
# `manage.py serve` collects the static files first and sets WORKBENCH_COLLECTED_STATIC=1: then
# WhiteNoise serves them compressed, under content-hashed names, cached for a year. Without it
# (tests, `serve --dev`) they are served from the source folders as they are.
WORKBENCH_COLLECTED_STATIC = env_bool("WORKBENCH_COLLECTED_STATIC", False)
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "imports": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if WORKBENCH_COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if os.environ.get("WORKBENCH_S3_BUCKET"):
    # Uploaded images in an S3-compatible bucket (AWS, MinIO, Ceph, R2 …). They stay private: the
    # workbench streams them to the dataset's members, so no public or pre-signed URL is handed out.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["WORKBENCH_S3_BUCKET"],
            "endpoint_url": os.environ.get("WORKBENCH_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("WORKBENCH_S3_REGION") or None,
            "access_key": os.environ.get("WORKBENCH_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("WORKBENCH_S3_SECRET_KEY") or None,
            "location": os.environ.get("WORKBENCH_S3_PREFIX", ""),
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = not WORKBENCH_COLLECTED_STATIC
MEDIA_ROOT = Path(os.environ.get("WORKBENCH_MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "media/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind TLS (DJANGO_SECURE=1): secure cookies, HTTPS redirects and HSTS. A TLS-terminating proxy
# in front says so with X-Forwarded-Proto (DJANGO_PROXY_SSL_HEADER=1, the default with
# DJANGO_SECURE); it must set that header itself, never pass on the client's.
DJANGO_SECURE = env_bool("DJANGO_SECURE", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", DJANGO_SECURE)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", DJANGO_SECURE)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if DJANGO_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", DJANGO_SECURE)
if env_bool("DJANGO_PROXY_SSL_HEADER", DJANGO_SECURE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks come over plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Strict Content-Security-Policy: no inline scripts, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Uploads: the limit for one import file, and the size below which an import runs inline.
WORKBENCH_MAX_UPLOAD_BYTES = env_int("WORKBENCH_MAX_UPLOAD_MB", 512) * 1024 * 1024
WORKBENCH_IMPORT_INLINE_MAX_BYTES = env_int("WORKBENCH_IMPORT_INLINE_MAX_BYTES", 2 * 1024 * 1024)
# JSON bodies (a model run of 100,000 items x 10 classes is ~15 MB); files stream to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("WORKBENCH_MAX_JSON_MB", 64) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "workbench.api.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "workbench.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Workbench API",
    "DESCRIPTION": (
        "Datasets with provenance, labelling, agreement, label issues, slices and jobs. "
        "Authenticate with `Authorization: Token <key>` (POST /api/v1/auth/token/). "
        'Rates are fractions between 0 and 1. Errors are `{"detail": ...}` or field-keyed '
        "messages with a 4xx status."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery. Default: the filesystem transport in DATA_DIR, which needs no broker server, so
# `make run` works on a machine with only Python. Production and CI: Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or ""
if not CELERY_BROKER_URL:
    _queue_dir = DATA_DIR / "broker"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
CELERY_TASK_IGNORE_RESULT = True  # results live on the Job row
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 6 * 3600 - 60)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Labelling: how long an item handed out by next-item stays reserved for its labeller.
WORKBENCH_RESERVATION_SECONDS = env_int("WORKBENCH_RESERVATION_SECONDS", 600)

# Jobs: a running job whose heartbeat is older than this is taken as lost (worker died).
WORKBENCH_JOB_STALE_SECONDS = env_int("WORKBENCH_JOB_STALE_SECONDS", 300)
WORKBENCH_JOB_MAX_ATTEMPTS = env_int("WORKBENCH_JOB_MAX_ATTEMPTS", 2)
# Extra modules that register job kinds (the tests use it for a controllable job).
WORKBENCH_EXTRA_JOB_MODULES = [
    m for m in os.environ.get("WORKBENCH_EXTRA_JOB_MODULES", "").split(",") if m
]

# Failed logins (the login form, the admin, POST /api/v1/auth/token/) are counted per username
# and per client address by django-axes; after WORKBENCH_LOGIN_FAILURE_LIMIT failures in a row
# that username or address is refused with a 429 for WORKBENCH_LOGIN_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("WORKBENCH_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WORKBENCH_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "workbench.auth.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# How many proxies in front of the workbench append to X-Forwarded-For (0: the client connects
# directly, and REMOTE_ADDR is its address).
WORKBENCH_PROXY_COUNT = env_int("WORKBENCH_PROXY_COUNT", 0)
AXES_IPWARE_PROXY_COUNT = WORKBENCH_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if WORKBENCH_PROXY_COUNT else ["REMOTE_ADDR"]
)

# One line per record, with the request id that the API also returns (X-Request-ID, and
# request_id in error bodies). 4xx responses are one line each, without a traceback.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "workbench.middleware.RequestIdLogFilter"},
        "client_errors_brief": {"()": "workbench.middleware.ClientErrorsBrief"},
    },
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["request_id", "client_errors_brief"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
