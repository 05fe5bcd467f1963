"""Settings for the test process itself (the unit tests' own database)."""

import os
import tempfile

os.environ.setdefault("HAVEN_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("HAVEN_TRANSCRIPT_KEY", "tests-only-transcript-key-not-a-secret")
os.environ.setdefault("HAVEN_DATA_DIR", tempfile.mkdtemp(prefix="haven-unit-"))

from haven.settings import *  # noqa: F403
from haven.settings import DATABASES, STATIC_ROOT

# Unit tests that build Haven's ASGI handler load its middleware, and WhiteNoise warns
# when the collected-files folder does not exist (the live stacks collect into their own).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A file, not SQLite's shared in-memory database: tests that use several connections at
# once (tests/test_audit_chain_turns.py) need SQLite's real locking, as Haven has it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    UNIT_SQLITE = os.path.join(os.environ["HAVEN_DATA_DIR"], "unit.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": UNIT_SQLITE}

# HAVEN_TEST_DATABASE=postgres: the unit tests on PostgreSQL too (pytest-django makes the
# database test_<NAME> and drops it after the run; the name is new for every run).
if os.environ.get("HAVEN_TEST_DATABASE") == "postgres":
    import secrets

    from tests.harness.database import POSTGRES_HOST, POSTGRES_USER

    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": POSTGRES_HOST,
            "USER": POSTGRES_USER,
            "NAME": f"haven_unit_{secrets.token_hex(6)}",
        }
    }
