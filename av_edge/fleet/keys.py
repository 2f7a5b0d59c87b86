"""Signing keys of the fleet's TUF repository: Ed25519, one PEM file per role.

``root`` and ``targets`` are offline keys: needed to create the repository and to rotate keys, kept on
removable media or an HSM otherwise. ``fleet`` (the delegated role that signs model packages and
rollouts) lives on the release machine; ``snapshot`` and ``timestamp`` are online keys that re-sign
the repository's freshness (``av-edge fleet refresh``, from cron).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from av_edge.core.errors import AvEdgeError

ROLES = ("root", "targets", "fleet", "snapshot", "timestamp")
OFFLINE = ("root", "targets")


class SigningKeyError(AvEdgeError):
    """A signing key that is missing or unreadable."""


def key_path(directory: Path, role: str) -> Path:
    return directory / f"{role}.pem"


def generate_keys(directory: Path) -> None:
    """A new key per role under ``directory`` (0600); refuses to overwrite an existing one."""
    directory.mkdir(parents=True, exist_ok=True)
    for role in ROLES:
        new_key(key_path(directory, role))


def new_key(path: Path) -> CryptoSigner:
    """A new Ed25519 key written to ``path`` (0600, never over an existing file)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} exists; refusing to replace a signing key") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return CryptoSigner(private, SSlibKey.from_crypto(private.public_key()))


def load_signer(directory: Path, role: str) -> CryptoSigner:
    path = key_path(directory, role)
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as err:
        where = "an offline key: mount its media" if role in OFFLINE else "an online key"
        raise SigningKeyError(f"{path}: the {role} key ({where}) cannot be read: {err}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: the {role} key is not Ed25519")
    return CryptoSigner(private, SSlibKey.from_crypto(private.public_key()))
