"""Settings for the patch review console, read from the environment (see README for the table)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from console.env import envbool, envchoice, envint, envkeys, envlist, envstr, envurl
from console.local_state import PRIVATE_UMASK
from patches.formats.json_patch import MAX_CONTENT_BYTES

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR", str(BASE_DIR / "var")))
# Local state is its user's alone: whatever this process creates is 0600 (folders 0700), and
# startup takes group and other bits off what var/ already holds (console.apps).
os.umask(PRIVATE_UMASK)
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)

CONSOLE_ENV = envchoice("CONSOLE_ENV", "development", ("development", "production"))
PRODUCTION = CONSOLE_ENV == "production"
DEBUG = envbool("DEBUG", not PRODUCTION)


def _development_secret_key() -> str:
    # Generated once and kept under var/ so sessions survive restarts of `make run`.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY: required when CONSOLE_ENV=production")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS: required when CONSOLE_ENV=production")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "ninja",
    "patches",
    "audit",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in's response into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

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
                "csp.context_processors.nonce",
                "console.context_processors.log_alarm",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = envurl(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'console.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so the web process and the worker queue on
        # the busy timeout instead of failing a read-to-write upgrade with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": envint("SQLITE_BUSY_TIMEOUT_S", 30, minimum=1),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so worker processes started by tests share the test database.
    _database["TEST"] = {"NAME": str(VAR_DIR / f"test-{envstr('TEST_DB_SUFFIX', 'main')}.sqlite3")}
elif envbool("DB_PREPARED_STATEMENTS", True):
    # Server-side parameter binding, and psycopg prepares a statement once it has run 5 times
    # on a connection: PostgreSQL then skips parsing and planning the API's hot queries, which
    # cut the CPU of a signed submit by a fifth (docs/performance.md). Needs a persistent
    # connection (DB_CONN_MAX_AGE) to pay off; turn off behind a pooler that cannot keep
    # prepared statements (PgBouncer in transaction mode before 1.21).
    _database["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = envurl(
    "CELERY_BROKER_URL",
    "filesystem://",
    schemes=("filesystem", "redis", "rediss", "amqp", "memory"),
)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
GATE_TIME_LIMIT_S = envint("GATE_TIME_LIMIT_S", 300, minimum=5)
GATE_SWEEP_INTERVAL_S = envint("GATE_SWEEP_INTERVAL_S", 60, minimum=1)
WORKER_HEARTBEAT_S = envint("WORKER_HEARTBEAT_S", 10, minimum=1)
CHECKPOINT_INTERVAL_S = envint("CHECKPOINT_INTERVAL_S", 600, minimum=1)

# --- Caches (login rate limits, health) -------------------------------------------------------
CACHE_URL = envurl("CACHE_URL", "memory://", schemes=("memory", "redis", "rediss"))
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Console signing key (checkpoints, reverts signed on a reviewer's behalf) -----------------
CONSOLE_SIGNING_KEY = envstr("CONSOLE_SIGNING_KEY", "")
CONSOLE_SIGNING_KEY_PATH = VAR_DIR / "console_ed25519.pem"
# Public keys (64 hex, raw Ed25519) of console keys retired by rotation: their checkpoints keep
# verifying. See README, "Rotating the console key".
CONSOLE_RETIRED_PUBLIC_KEYS = envkeys("CONSOLE_RETIRED_PUBLIC_KEYS")
# The latest signed checkpoint, kept outside the database too: a log cut back below it fails
# verify_log even when the checkpoint rows were deleted with the events.
LOG_HEAD_PATH = Path(envstr("LOG_HEAD_PATH", str(VAR_DIR / "log_head.json")))
# Set when the checkpoint signer refuses a chain it did not write: healthz, the console banner.
LOG_ALARM_PATH = Path(envstr("LOG_ALARM_PATH", str(VAR_DIR / "log_alarm.json")))

# --- Agent API limits -----------------------------------------------------------------------
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
API_MAX_JSON_DEPTH = envint("API_MAX_JSON_DEPTH", 32, minimum=4)
API_MAX_TEST_REQUIREMENTS = envint("API_MAX_TEST_REQUIREMENTS", 32, minimum=1)
API_MAX_REASONING_CHARS = envint("API_MAX_REASONING_CHARS", 20_000, minimum=100)
API_MAX_PENDING_PER_AGENT = envint("API_MAX_PENDING_PER_AGENT", 50, minimum=1)
# POST /api/v1/targets/{name}/observed: reports per agent per window, instances per agent and
# target (docs/labels.md).
OBSERVED_RATE_LIMIT = envint("OBSERVED_RATE_LIMIT", 600, minimum=1)
OBSERVED_RATE_WINDOW_S = envint("OBSERVED_RATE_WINDOW_S", 60, minimum=1)
OBSERVED_MAX_INSTANCES = envint("OBSERVED_MAX_INSTANCES", 10_000, minimum=1)
# The most bytes of UTF-8 a patch may make a target's content (JSON: its canonical text), and
# copy in all (JSON Patch `copy`); the refusal names it. At most the formats' own ceiling,
# which applying and the proposal page keep, so a lower door limit never blocks an apply.
MAX_TARGET_CONTENT_BYTES = envint("MAX_TARGET_CONTENT_BYTES", MAX_CONTENT_BYTES, minimum=1024)
if MAX_TARGET_CONTENT_BYTES > MAX_CONTENT_BYTES:
    raise ImproperlyConfigured(
        f"MAX_TARGET_CONTENT_BYTES: must be at most {MAX_CONTENT_BYTES}, got {MAX_TARGET_CONTENT_BYTES}"
    )
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES + 1024

# --- Auth -----------------------------------------------------------------------------------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Failed sign-ins are limited by django-axes on every login path; console.login_limits says
# what counts against what. Read at each attempt, so a test can override these.
LOGIN_RATE_LIMIT = envint("LOGIN_RATE_LIMIT", 10, minimum=1)  # per username and address
LOGIN_USER_RATE_LIMIT = envint("LOGIN_USER_RATE_LIMIT", 100, minimum=1)  # per username
LOGIN_RATE_WINDOW_S = envint("LOGIN_RATE_WINDOW_S", 300, minimum=1)
# Reverse proxies in front of the console that append to X-Forwarded-For; 0: clients connect
# directly and REMOTE_ADDR is the client. Too high a number lets clients choose their address.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "console.login_limits.LoginLimitHandler"
# In this order: LoginLimitHandler reads the (username, address) count, then the username's.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_FAILURE_LIMIT = "console.login_limits.failure_limit"
AXES_COOLOFF_TIME = "console.login_limits.cool_off"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "console.login_limits.username_of"
AXES_CLIENT_IP_CALLABLE = "console.login_limits.client_address"
AXES_LOCKOUT_CALLABLE = "console.views.auth.login_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False  # no banner on every manage.py run; failures and lockouts still log warnings

# --- Security -------------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at every start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
