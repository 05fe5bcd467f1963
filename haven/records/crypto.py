"""AES-GCM for transcripts: a fresh key per transcript, wrapped with the server's key."""

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    wrapped_key: bytes
    wrap_nonce: bytes


def _server_key() -> bytes:
    """The key that wraps transcript keys: HAVEN_TRANSCRIPT_KEY, or derived from the
    secret key when that is not set (one machine trying Haven)."""
    material = settings.HAVEN_TRANSCRIPT_KEY or settings.SECRET_KEY
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"haven transcript key")
    return kdf.derive(material.encode("utf-8"))


def seal(plaintext: bytes, context: bytes) -> Sealed:
    """Encrypt under a new key; `context` (the meeting id) is authenticated with it."""
    key = AESGCM.generate_key(bit_length=256)
    nonce, wrap_nonce = os.urandom(12), os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, context)
    wrapped = AESGCM(_server_key()).encrypt(wrap_nonce, key, context)
    return Sealed(ciphertext, nonce, wrapped, wrap_nonce)


def open_sealed(sealed: Sealed, context: bytes) -> bytes:
    key = AESGCM(_server_key()).decrypt(sealed.wrap_nonce, sealed.wrapped_key, context)
    return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, context)
