"""Django settings for Haven, all read from the environment (see docs/deployment.md)."""

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import dj_database_url

from haven.env import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
    env_ws_urls,
    origin_of,
)
from haven.media.janus_config import check_port_range

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("HAVEN_DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("HAVEN_SECRET_KEY")
DEBUG = env_bool("HAVEN_DEBUG", False)
ALLOWED_HOSTS = env_list("HAVEN_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
# Links in emails are built from this, never from the request's Host header.
BASE_URL = env_str("HAVEN_BASE_URL", "http://localhost:8000").rstrip("/")
# Pages of these origins (scheme, host and port) may post forms and open a meeting
# WebSocket (ASVS 4.4.2, checked in haven/asgi.py); by default only Haven's own address.
HAVEN_ALLOWED_ORIGINS = env_list("HAVEN_ALLOWED_ORIGINS", [origin_of(BASE_URL)])
CSRF_TRUSTED_ORIGINS = HAVEN_ALLOWED_ORIGINS

INSTALLED_APPS = [
    "haven.accounts",
    "haven.policy",
    "haven.audit",
    "haven.meetings",
    "haven.invitations",
    "haven.consent",
    "haven.room",
    "haven.bans",
    "haven.chat",
    "haven.records",
    "haven.documents",
    "haven.subjects",
    "haven.assurance",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "channels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "haven.ops.static.StaticFilesMiddleware",  # WhiteNoise, made for ASGI
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Two factors on every staff page, the timeouts, sessions ended elsewhere.
    "haven.accounts.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "haven.urls"
ASGI_APPLICATION = "haven.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "haven" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "haven.policy.context.policy_in_force",
                "haven.accounts.context.staff_permissions",
            ],
        },
    },
]

# SQLite unless DATABASE_URL names another database (PostgreSQL in production, e.g.
# postgres://haven@%2Fvar%2Frun%2Fpostgresql/haven over the local socket).
SQLITE_OPTIONS = {
    # Writers queue for the lock at the start of a transaction instead of failing midway.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
# Each thread keeps its SQLite connection: opening one (and its PRAGMAs) before every
# database call was a fifth of a meeting connection's work (bench/, issue 8).
SQLITE_CONN_MAX_AGE = None
DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("HAVEN_SQLITE_PATH", str(DATA_DIR / "haven.sqlite3")),
        "OPTIONS": SQLITE_OPTIONS,
        "CONN_MAX_AGE": SQLITE_CONN_MAX_AGE,
    }
}
if env_str("DATABASE_URL", "") != "":
    try:
        DATABASES["default"] = dict(dj_database_url.parse(env_str("DATABASE_URL")))
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL cannot be used: {exc}") from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
        DATABASES["default"]["CONN_MAX_AGE"] = SQLITE_CONN_MAX_AGE
    elif DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ConfigError("DATABASE_URL must start postgres:// (or sqlite:///).")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Broadcasts between meeting connections. `capacity`: how many may wait for one
# connection; past it they are dropped. Channels' default of 100 dropped waiting lists and
# rosters when hundreds arrived or left at once (bench/).
# Without REDIS_URL: one process, its own in-memory layer (haven/room/layers.py). With it:
# Redis carries them, so any number of Haven processes serve one deployment.
REDIS_URL = env_str("REDIS_URL", "")
# A Haven process not heard from for this long has stopped: the people it held are let go.
HAVEN_SERVER_GONE_SECONDS = env_int("HAVEN_SERVER_GONE_SECONDS", 20)
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "prefix": "haven"},
        }
        if REDIS_URL
        else {
            "BACKEND": "haven.room.layers.MeetingChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    )
}

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out account before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff:home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# ASVS 6.2: at least 12 characters, no composition rules, not common, not known from breaches.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "haven.accounts.passwords.BreachedPasswordValidator"},
]

# Staff sessions (ASVS 7.3): signed out after 30 minutes without a page, and 12 hours
# after signing in whatever happens. Sensitive actions ask for the password and a code
# again when the last check is older than HAVEN_REAUTH_MINUTES.
HAVEN_STAFF_IDLE_MINUTES = env_int("HAVEN_STAFF_IDLE_MINUTES", 30)
HAVEN_STAFF_ABSOLUTE_HOURS = env_int("HAVEN_STAFF_ABSOLUTE_HOURS", 12)
HAVEN_REAUTH_MINUTES = env_int("HAVEN_REAUTH_MINUTES", 5)
# A set-up link for new staff works this long.
HAVEN_STAFF_SETUP_LINK_HOURS = env_int("HAVEN_STAFF_SETUP_LINK_HOURS", 72)
SESSION_COOKIE_AGE = HAVEN_STAFF_ABSOLUTE_HOURS * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Staff single sign-on with OpenID Connect (haven/accounts/oidc.py, docs/deployment.md):
# off unless HAVEN_OIDC_ISSUER is set. Endpoints come from the issuer's discovery
# document unless given one by one. The organisation's own settings (SSO required,
# accounts made on first sign-in, roles from a claim) are set per organisation.
HAVEN_OIDC_ISSUER = env_str("HAVEN_OIDC_ISSUER", "").rstrip("/")
HAVEN_OIDC_CLIENT_ID = env_str("HAVEN_OIDC_CLIENT_ID", "")
HAVEN_OIDC_CLIENT_SECRET = env_str("HAVEN_OIDC_CLIENT_SECRET", "")
HAVEN_OIDC_ORGANISATION = env_str("HAVEN_OIDC_ORGANISATION", "")
if HAVEN_OIDC_ISSUER and not (
    HAVEN_OIDC_CLIENT_ID and HAVEN_OIDC_CLIENT_SECRET and HAVEN_OIDC_ORGANISATION
):
    raise ConfigError(
        "HAVEN_OIDC_ISSUER is set, so HAVEN_OIDC_CLIENT_ID, HAVEN_OIDC_CLIENT_SECRET and "
        "HAVEN_OIDC_ORGANISATION must be set too (see docs/deployment.md)."
    )
HAVEN_OIDC_AUTHORIZATION_ENDPOINT = env_str("HAVEN_OIDC_AUTHORIZATION_ENDPOINT", "")
HAVEN_OIDC_TOKEN_ENDPOINT = env_str("HAVEN_OIDC_TOKEN_ENDPOINT", "")
HAVEN_OIDC_JWKS_ENDPOINT = env_str("HAVEN_OIDC_JWKS_ENDPOINT", "")
HAVEN_OIDC_SCOPES = env_str("HAVEN_OIDC_SCOPES", "openid email profile offline_access")
HAVEN_OIDC_RECHECK_MINUTES = env_float("HAVEN_OIDC_RECHECK_MINUTES", 10.0)
if not 0 < HAVEN_OIDC_RECHECK_MINUTES <= 60:
    raise ConfigError("HAVEN_OIDC_RECHECK_MINUTES must be more than 0 and at most 60.")
HAVEN_OIDC_TIMEOUT_SECONDS = env_float("HAVEN_OIDC_TIMEOUT_SECONDS", 10.0)
HAVEN_OIDC_BUTTON_LABEL = env_str(
    "HAVEN_OIDC_BUTTON_LABEL", "Sign in with your organisation account"
)
# mozilla-django-oidc's settings, from those above.
OIDC_RP_CLIENT_ID = HAVEN_OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = HAVEN_OIDC_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = HAVEN_OIDC_SCOPES
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = HAVEN_OIDC_TIMEOUT_SECONDS
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_callback"

# Two-factor sign-in (django-otp): an authenticator app (TOTP) and one-time recovery codes.
OTP_TOTP_ISSUER = env_str("HAVEN_TOTP_ISSUER", "Haven")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# Sign-in lockout (django-axes): after 5 wrong passwords or codes for one account, that
# account cannot sign in for 15 minutes. Counted per account, so one shared office
# address cannot lock everyone out.
AXES_FAILURE_LIMIT = env_int("HAVEN_SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("HAVEN_SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns that this does not also lock by address. Deliberate: staff of one office or
# one council network share an address, and a lock by address would let anyone there
# lock them all out. The per-account lock already stops guessing one account's password.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "haven.accounts.signin.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "haven.accounts.views.locked_out"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Haven's audit log records sign-ins; axes keeps only the failures it needs to count.
AXES_DISABLE_ACCESS_LOG = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("HAVEN_TIME_ZONE", "Europe/London")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "haven" / "static"]
# Without collectstatic (make run, tests) WhiteNoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = env_bool("HAVEN_STATIC_FROM_SOURCE", True)
if WHITENOISE_USE_FINDERS:
    # No collected static folder is expected then; WhiteNoise would warn about it.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
# collectstatic writes a gzip copy beside each file, which WhiteNoise serves to browsers
# that accept it (the attendee pages' scripts and styles are about a third of their
# size so: bench/). Names are not hashed: the scripts import each other by plain name.
# Served from the source tree, files go uncompressed (WhiteNoise never compresses on
# the fly).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Strict Content-Security-Policy: no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = "camera=(self), microphone=(self), display-capture=(self)"

# Probes and the metrics scraper may talk to Haven directly over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

if BASE_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("HAVEN_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("HAVEN_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("HAVEN_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Preloading commits every subdomain of the organisation's domain to HTTPS for good:
    # the operator's decision (HAVEN_HSTS_PRELOAD), not a default Haven can make for them.
    SILENCED_SYSTEM_CHECKS += ["security.W021"]

# Email: SMTP in production; in the embedded default, the console and a local outbox
# folder so a person trying Haven can open the links.
EMAIL_BACKEND = env_str("HAVEN_EMAIL_BACKEND", "haven.mail.backends.OutboxBackend")
HAVEN_OUTBOX_DIR = Path(env_str("HAVEN_OUTBOX_DIR", str(DATA_DIR / "outbox")))
# Rule D3: `manage.py serve` destroys expired personal data this often (0: never, for a
# deployment that runs `manage.py destroy_expired` from cron instead).
HAVEN_RETENTION_INTERVAL_MINUTES = env_float("HAVEN_RETENTION_INTERVAL_MINUTES", 60.0)
if not 0 <= HAVEN_RETENTION_INTERVAL_MINUTES <= 7 * 24 * 60:
    raise ConfigError("HAVEN_RETENTION_INTERVAL_MINUTES must be from 0 to 10080 (a week).")
EMAIL_HOST = env_str("HAVEN_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("HAVEN_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("HAVEN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("HAVEN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HAVEN_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("HAVEN_FROM_EMAIL", "haven@localhost")

# The Janus media server that this Haven owns (API on loopback only).
HAVEN_JANUS_URL = env_str("HAVEN_JANUS_URL", "ws://127.0.0.1:8188/janus")
HAVEN_JANUS_API_SECRET = env_str("HAVEN_JANUS_API_SECRET", "")
HAVEN_JANUS_ADMIN_KEY = env_str("HAVEN_JANUS_ADMIN_KEY", "")
# Every Janus server meetings may be placed on (the same secrets for all); by default only
# HAVEN_JANUS_URL. Each meeting goes to the least loaded and stays there; one that has not
# answered for HAVEN_JANUS_FAILOVER_SECONDS loses its meetings to the others.
HAVEN_JANUS_SERVERS = env_ws_urls("HAVEN_JANUS_SERVERS", [HAVEN_JANUS_URL])
# Short by default: media is back for everyone within 3 s of a Janus dying or freezing
# (bench/failover.py); a Janus restarted that fast is rare, and moving costs one reconnect.
HAVEN_JANUS_FAILOVER_SECONDS = env_float("HAVEN_JANUS_FAILOVER_SECONDS", 1.5)
if not 0.5 <= HAVEN_JANUS_FAILOVER_SECONDS <= 3600:
    raise ConfigError("HAVEN_JANUS_FAILOVER_SECONDS must be from 0.5 to 3600.")
# Used only when Haven starts Janus itself (manage.py serve): its admin API, loopback only.
HAVEN_JANUS_ADMIN_SECRET = env_str("HAVEN_JANUS_ADMIN_SECRET", "")
HAVEN_JANUS_ADMIN_PORT = env_int("HAVEN_JANUS_ADMIN_PORT", 7188)
HAVEN_JANUS_ICE_INTERFACE = env_str("HAVEN_JANUS_ICE_INTERFACE", "") or None
# The UDP ports Janus sends and receives media on; two Janus on one machine need their own.
HAVEN_JANUS_RTP_PORTS = env_str("HAVEN_JANUS_RTP_PORTS", "20000-40000")
try:
    check_port_range(HAVEN_JANUS_RTP_PORTS)
except ValueError:
    raise ConfigError(
        f"HAVEN_JANUS_RTP_PORTS must be LOW-HIGH, e.g. 20000-40000, not {HAVEN_JANUS_RTP_PORTS!r}."
    ) from None
HAVEN_JANUS_RUN_DIR = Path(env_str("HAVEN_JANUS_RUN_DIR", str(DATA_DIR / "run" / "janus")))

# TURN (coturn) for people whose network blocks UDP to the media server. Without
# HAVEN_TURN_URLS and HAVEN_TURN_SECRET browsers get no TURN server and nothing changes.
HAVEN_TURN_URLS = env_list("HAVEN_TURN_URLS", [])
HAVEN_TURN_SECRET = env_str("HAVEN_TURN_SECRET", "")
HAVEN_TURN_REALM = env_str("HAVEN_TURN_REALM", "haven")
# How long a TURN credential given to a browser stays valid (a whole meeting).
HAVEN_TURN_CREDENTIAL_SECONDS = env_int("HAVEN_TURN_CREDENTIAL_SECONDS", 6 * 3600)
# Only for coturn's configuration (manage.py run_turn).
HAVEN_TURN_PORT = env_int("HAVEN_TURN_PORT", 3478)
HAVEN_TURN_TLS_PORT = env_int("HAVEN_TURN_TLS_PORT", 5349)
HAVEN_TURN_TLS_CERT = env_str("HAVEN_TURN_TLS_CERT", "")
HAVEN_TURN_TLS_KEY = env_str("HAVEN_TURN_TLS_KEY", "")
HAVEN_TURN_LISTEN_IPS = env_list("HAVEN_TURN_LISTEN_IPS", [])
HAVEN_TURN_RELAY_IPS = env_list("HAVEN_TURN_RELAY_IPS", [])
HAVEN_TURN_EXTERNAL_IP = env_str("HAVEN_TURN_EXTERNAL_IP", "")
HAVEN_TURN_RELAY_PORTS = env_str("HAVEN_TURN_RELAY_PORTS", "49152-65535")
HAVEN_TURN_RUN_DIR = Path(env_str("HAVEN_TURN_RUN_DIR", str(DATA_DIR / "run" / "turn")))
# TESTS ONLY: private networks coturn may relay to anyway (the test network namespace), and
# browsers told to use TURN relays only. A deployment must leave both unset.
HAVEN_TURN_ALLOWED_PEER_IPS = env_list("HAVEN_TURN_ALLOWED_PEER_IPS", [])
HAVEN_TURN_FORCE_RELAY = env_bool("HAVEN_TURN_FORCE_RELAY", False)

# Transcript keys (rule S6, issue 20 item 10; haven/records/crypto.py): the key that wraps
# each transcript's own key (AES-GCM). Never derived from HAVEN_SECRET_KEY: without it no
# transcript can be kept or read, and `check --deploy` fails (records.E001). Keys used
# before, comma-separated, stay readable until `manage.py rotate_transcript_key`.
HAVEN_TRANSCRIPT_KEY = env_str("HAVEN_TRANSCRIPT_KEY", "")
HAVEN_TRANSCRIPT_OLD_KEYS = env_list("HAVEN_TRANSCRIPT_OLD_KEYS", [])

# Documents the host emails to attendees (rule S4): the largest file, in megabytes, and
# how many document emails one host may send in an hour. The file is never stored:
# request bodies and uploads stay in memory (haven/documents/uploads.py), never in a
# temporary file, so the upload handlers below are memory-only.
HAVEN_DOCUMENT_MAX_MB = env_int("HAVEN_DOCUMENT_MAX_MB", 10)
HAVEN_DOCUMENT_MAX_BYTES = HAVEN_DOCUMENT_MAX_MB * 1024 * 1024
HAVEN_DOCUMENT_EMAILS_PER_HOUR = env_int("HAVEN_DOCUMENT_EMAILS_PER_HOUR", 60)
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

# Subject access and erasure (rule D4): look-ups, downloads and erasures per member of
# staff per hour; more than this is refused (and audited) as possible trawling.
HAVEN_SUBJECT_ACCESS_PER_HOUR = env_int("HAVEN_SUBJECT_ACCESS_PER_HOUR", 60)

# Wrong passcodes: after this many for one link, further tries wait this long.
HAVEN_PASSCODE_MAX_FAILURES = 5
HAVEN_PASSCODE_LOCKOUT_MINUTES = 15
# Wrong passcodes from one client address over all links (rule S1, issue 20 item 4,
# haven/invitations/guessing.py): this many in the window are free; each one after them
# pauses the address 30 s, then 60 s, 120 s, ... up to the longest pause.
HAVEN_PASSCODE_ADDRESS_FREE_TRIES = env_int("HAVEN_PASSCODE_ADDRESS_FREE_TRIES", 10)
HAVEN_PASSCODE_ADDRESS_WINDOW_MINUTES = env_int("HAVEN_PASSCODE_ADDRESS_WINDOW_MINUTES", 60)
HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS = env_int("HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS", 300)
if HAVEN_PASSCODE_ADDRESS_FREE_TRIES < 1 or not 1 <= HAVEN_PASSCODE_ADDRESS_WINDOW_MINUTES <= 1440:
    raise ConfigError(
        "HAVEN_PASSCODE_ADDRESS_FREE_TRIES must be at least 1, and "
        "HAVEN_PASSCODE_ADDRESS_WINDOW_MINUTES from 1 to 1440 (a day)."
    )
if not 30 <= HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS <= 3600:
    raise ConfigError("HAVEN_PASSCODE_ADDRESS_MAX_PAUSE_SECONDS must be from 30 to 3600.")

# The accessibility statement (haven/assurance) reports the automated checks of the last
# test run: the JSON file Haven's browser tests write (tests/harness/browser.py).
HAVEN_AXE_RESULTS = Path(
    env_str("HAVEN_AXE_RESULTS", str(BASE_DIR / "var" / "test-artifacts" / "axe-results.json"))
)

# Prometheus metrics at /metrics (haven/ops/metrics.py): for a scraper that sends this
# bearer token, or one whose address is in these networks. Neither set: nobody.
HAVEN_METRICS_TOKEN = env_str("HAVEN_METRICS_TOKEN", "")
HAVEN_METRICS_NETWORKS = env_networks("HAVEN_METRICS_ALLOWED_ADDRESSES")

# Logs go to standard error (journald under systemd): one JSON object a line, or text.
# Either way email addresses and link tokens are taken out first (haven/ops/logs.py).
HAVEN_LOG_FORMAT = env_str("HAVEN_LOG_FORMAT", "text")
if HAVEN_LOG_FORMAT not in {"text", "json"}:
    raise ConfigError(f"HAVEN_LOG_FORMAT must be json or text, not {HAVEN_LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "haven.ops.logs.RedactPersonalData"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "haven.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": HAVEN_LOG_FORMAT,
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("HAVEN_LOG_LEVEL", "INFO")},
    # axes logs each sign-in at INFO (the account masked); Haven's audit log has them.
    # WeasyPrint (the assurance PDFs) warns of each CSS rule for screens it skips.
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
# Every request Haven sends to Janus (kind, plugin request, whose handle; no secrets, no
# SDP), one a line: evidence of what reached the media server. Off unless a path is set.
HAVEN_MEDIA_REQUEST_LOG = env_str("HAVEN_MEDIA_REQUEST_LOG", "")
if HAVEN_MEDIA_REQUEST_LOG:
    LOGGING["handlers"]["media_requests"] = {  # type: ignore[index]
        "class": "logging.FileHandler",
        "filename": HAVEN_MEDIA_REQUEST_LOG,
    }
    LOGGING["loggers"]["haven.media.requests"] = {  # type: ignore[index]
        "handlers": ["media_requests"],
        "level": "DEBUG",
        "propagate": False,
    }
