"""Settings for the test process itself (unit tests use an in-memory database)."""

import os
import tempfile

os.environ.setdefault("HAVEN_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("HAVEN_DATA_DIR", tempfile.mkdtemp(prefix="haven-unit-"))

from haven.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
