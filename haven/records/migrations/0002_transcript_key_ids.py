"""Each wrapped transcript key carries the id of the key that wrapped it (rule S6, issue 20
item 10).

Keys stored before this get the id of the key that really wrapped them, found by trying
each candidate (AES-GCM says which one opens it): HAVEN_TRANSCRIPT_KEY, each of
HAVEN_TRANSCRIPT_OLD_KEYS, and HAVEN_SECRET_KEY, which wrapped them when no transcript key
was set. One that none opens keeps an empty id, and reading it says so clearly.
"""

import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import migrations, models


def _derive(material: str) -> bytes:
    # As haven/records/crypto.py derive_key and key_id_of (copied: a migration keeps its code).
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"haven transcript key")
    return kdf.derive(material.encode("utf-8"))


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"haven transcript key id\0" + key).hexdigest()[:16]


def _candidates() -> list[bytes]:
    materials = [
        getattr(settings, "HAVEN_TRANSCRIPT_KEY", ""),
        *getattr(settings, "HAVEN_TRANSCRIPT_OLD_KEYS", []),
        settings.SECRET_KEY,
    ]
    return [_derive(material) for material in materials if material]


def identify_wrapping_keys(apps, schema_editor):
    TranscriptKey = apps.get_model("records", "TranscriptKey")
    candidates = _candidates()
    for row in TranscriptKey.objects.filter(key_id="").select_related("transcript__meeting"):
        context = f"haven-transcript:{row.transcript.meeting.public_id}".encode()
        for key in candidates:
            try:
                AESGCM(key).decrypt(bytes(row.wrap_nonce), bytes(row.wrapped_key), context)
            except InvalidTag:
                continue
            row.key_id = _key_id(key)
            row.save(update_fields=["key_id"])
            break


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="transcriptkey",
            name="key_id",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.RunPython(identify_wrapping_keys, migrations.RunPython.noop),
    ]
