"""AES-GCM for transcripts (rule S6): a fresh key per transcript, wrapped with the server's
transcript key, and the id of that key stored beside it.

The wrapping key comes from HAVEN_TRANSCRIPT_KEY only: never from HAVEN_SECRET_KEY, so
changing the secret key cannot make transcripts unreadable. Keys used before are listed in
HAVEN_TRANSCRIPT_OLD_KEYS: transcripts wrapped with them stay readable until
`manage.py rotate_transcript_key` wraps them all again with the current key
(docs/deployment.md, "Transcript keys and rotation").
"""

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# The guide every error points to.
GUIDE = 'docs/deployment.md, "Transcript keys and rotation"'


class TranscriptKeyError(Exception):
    """A transcript key cannot be used: none is set, or the one a transcript needs is not."""


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    wrapped_key: bytes
    wrap_nonce: bytes
    key_id: str


@dataclass(frozen=True)
class Wrapped:
    """A transcript's own key, wrapped, and the id of the key that wrapped it."""

    wrapped_key: bytes
    wrap_nonce: bytes
    key_id: str


def derive_key(material: str) -> bytes:
    """The AES-256 wrapping key made from a configured key (any long random text).

    The same derivation Haven always used, so transcripts wrapped before key ids existed
    (with HAVEN_TRANSCRIPT_KEY, or with HAVEN_SECRET_KEY when that was unset) open again
    when that old value is listed in HAVEN_TRANSCRIPT_OLD_KEYS.
    """
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"haven transcript key")
    return kdf.derive(material.encode("utf-8"))


def key_id_of(key: bytes) -> str:
    """A short public name for a wrapping key: it says which key, and reveals nothing."""
    return hashlib.sha256(b"haven transcript key id\0" + key).hexdigest()[:16]


def current_key() -> tuple[str, bytes]:
    """The key new transcripts are wrapped with: (its id, the key)."""
    material = settings.HAVEN_TRANSCRIPT_KEY
    if not material:
        raise TranscriptKeyError(
            f"HAVEN_TRANSCRIPT_KEY is not set, so transcripts cannot be kept or read ({GUIDE})."
        )
    key = derive_key(material)
    return key_id_of(key), key


def keyring() -> dict[str, bytes]:
    """Every key a transcript may be wrapped with, by id: the current one and the old ones."""
    current_id, current = current_key()
    keys = {key_id_of(key): key for key in map(derive_key, settings.HAVEN_TRANSCRIPT_OLD_KEYS)}
    return {**keys, current_id: current}


def seal(plaintext: bytes, context: bytes) -> Sealed:
    """Encrypt under a new key; `context` (the meeting id) is authenticated with it."""
    key_id, server_key = current_key()
    key = AESGCM.generate_key(bit_length=256)
    nonce, wrap_nonce = os.urandom(12), os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, context)
    wrapped = AESGCM(server_key).encrypt(wrap_nonce, key, context)
    return Sealed(ciphertext, nonce, wrapped, wrap_nonce, key_id)


def unwrap(wrapped: Wrapped, context: bytes) -> bytes:
    """The transcript's own key. Raises TranscriptKeyError, saying what to do, when the key
    that wrapped it is not configured (or the stored key is damaged)."""
    keys = keyring()
    server_key = keys.get(wrapped.key_id)
    if server_key is None:
        known = ", ".join(sorted(keys))
        which = f"transcript key {wrapped.key_id}" if wrapped.key_id else "an unknown key"
        raise TranscriptKeyError(
            f"This transcript was locked with {which}, which is neither HAVEN_TRANSCRIPT_KEY "
            f"nor in HAVEN_TRANSCRIPT_OLD_KEYS (the keys set now: {known}). Put that key back "
            f"in HAVEN_TRANSCRIPT_OLD_KEYS to read it ({GUIDE})."
        )
    try:
        return AESGCM(server_key).decrypt(wrapped.wrap_nonce, wrapped.wrapped_key, context)
    except InvalidTag:
        raise TranscriptKeyError(
            f"This transcript's stored key does not open with transcript key {wrapped.key_id}: "
            "it has been damaged or changed."
        ) from None


def rewrap(wrapped: Wrapped, context: bytes) -> Wrapped:
    """The same transcript key, wrapped again with the current key (for rotation)."""
    key = unwrap(wrapped, context)
    key_id, server_key = current_key()
    wrap_nonce = os.urandom(12)
    return Wrapped(AESGCM(server_key).encrypt(wrap_nonce, key, context), wrap_nonce, key_id)


def open_sealed(sealed: Sealed, context: bytes) -> bytes:
    key = unwrap(Wrapped(sealed.wrapped_key, sealed.wrap_nonce, sealed.key_id), context)
    return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, context)
