"""The operator's Ed25519 signing keys: PEM files in ``settings.TAHTO_KEY_DIR``.

Each key is one unencrypted PKCS#8 PEM file, mode 0600, named
``ed25519-YYYYMMDDTHHMMSSZ.pem`` after the moment it was made. The newest file (by name)
signs receipts and tree heads; every file's public half is published (``public_jwks``), so
whatever an older key signed still verifies after a rotation. A key's ``kid`` is its
RFC 7638 JWK thumbprint (SHA-256, base64url), so anyone can recompute it from the key.

The first key is made on first use. The web process and a Celery worker may race to make it:
the maker holds an exclusive ``flock`` on ``.lock`` in the folder, looks again, and publishes a
fully written temporary file under its final name with ``os.link``, which fails if the name
exists (O_EXCL semantics). Readers therefore never see a half-written key, and both processes
end up with the same single key.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from django.conf import settings
from joserfc import jwk

try:  # POSIX only; without it creation still never exposes a partial file (see _locked)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: JWS algorithm our keys are published for: RFC 9864's fully-specified "Ed25519".
#: (RFC 8037's polymorphic "EdDSA" is deprecated by RFC 9864; see consents.receipts.)
JWS_ALG = "Ed25519"

KEY_FILE_RE = re.compile(r"^ed25519-\d{8}T\d{6}Z\.pem$")
_LOCK_FILE = ".lock"


class KeyStoreError(Exception):
    """The key folder holds something that is not a usable Ed25519 private key."""


@dataclass(frozen=True)
class SigningKey:
    """A private signing key and its kid (RFC 7638 thumbprint)."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


# --------------------------------------------------------------------------- public API


def signing_key() -> SigningKey:
    """Return the newest key, making the first one if the folder holds none."""
    return _keys()[-1][1]


def public_keys() -> dict[str, Ed25519PublicKey]:
    """Return every key's public half by kid, newest first."""
    return {key.kid: key.public_key for _, key in reversed(_keys())}


def public_jwks() -> dict:
    """Return the JWK Set to publish at /.well-known/jwks.json: public halves only."""
    return {"keys": [public_jwk(key) for key in public_keys().values()]}


def rotate() -> SigningKey:
    """Make a new key that becomes the newest (and so the signing) key; return it."""
    directory = _key_dir()
    _ensure_dir(directory)
    with _locked(directory):
        names = _listing(directory)
        name = _new_name(after=names[-1] if names else None)
        key = _write_new_key(directory, name)
    logger.info("made signing key %s (%s)", key.kid, name)
    return key


def public_jwk(public_key: Ed25519PublicKey | SigningKey) -> dict[str, str]:
    """Return the public JWK (RFC 8037 OKP) of a key, with kid, use and alg."""
    if isinstance(public_key, SigningKey):
        public_key = public_key.public_key
    x = _b64url(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": thumbprint(public_key),
        "use": "sig",
        "alg": JWS_ALG,
    }


def thumbprint(public_key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    x = _b64url(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    # RFC 7638 §3.2: only the required members of an OKP key: crv, kty, x.
    return jwk.thumbprint({"crv": "Ed25519", "kty": "OKP", "x": x})


# --------------------------------------------------------------------------- cache

# Per process: folder -> (sorted file names, [(name, key)]). A new or removed file changes
# the listing, which is all a call compares, so a rotation by another process is noticed
# on the next call without re-reading any PEM file.
_cache: dict[Path, tuple[tuple[str, ...], list[tuple[str, SigningKey]]]] = {}
_cache_lock = threading.Lock()


def _keys() -> list[tuple[str, SigningKey]]:
    """Return (file name, key) for every key, oldest first; make the first key if none."""
    directory = _key_dir()
    names = _listing(directory)
    if not names:
        _create_first(directory)
        names = _listing(directory)
    with _cache_lock:
        cached = _cache.get(directory)
        if cached is not None and cached[0] == names:
            return cached[1]
        known = dict(cached[1]) if cached is not None else {}
        loaded = [(name, known.get(name) or _load(directory / name)) for name in names]
        _cache[directory] = (names, loaded)
        return loaded


def _key_dir() -> Path:
    return Path(settings.TAHTO_KEY_DIR)


def _listing(directory: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(n for n in os.listdir(directory) if KEY_FILE_RE.match(n)))
    except FileNotFoundError:
        return ()


# --------------------------------------------------------------------------- files


def _ensure_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _create_first(directory: Path) -> None:
    _ensure_dir(directory)
    with _locked(directory):
        if _listing(directory):  # another process made it while we waited for the lock
            return
        try:
            key = _write_new_key(directory, _new_name(after=None))
        except FileExistsError:  # lost a race that the lock did not serialise: theirs stands
            return
    logger.info("made the first signing key %s in %s", key.kid, directory)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive flock on the folder's lock file (released if the process dies)."""
    if fcntl is None:  # pragma: no cover - Windows: os.link below still refuses to overwrite
        yield
        return
    fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _new_name(*, after: str | None) -> str:
    """A file name for a key made now that sorts after ``after`` (so it becomes the newest)."""
    moment = datetime.now(UTC).replace(microsecond=0)
    while True:
        name = f"ed25519-{moment:%Y%m%dT%H%M%SZ}.pem"
        if after is None or name > after:
            return name
        moment += timedelta(seconds=1)  # two rotations in one second, or a clock set back


def _write_new_key(directory: Path, name: str) -> SigningKey:
    """Generate a key and publish it as ``name``; raise FileExistsError if the name is taken."""
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd, tmp = tempfile.mkstemp(prefix=".ed25519-", suffix=".tmp", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, directory / name)  # atomic, and fails if the name exists
    finally:
        os.unlink(tmp)
    _fsync_dir(directory)
    return SigningKey(kid=thumbprint(private_key.public_key()), private_key=private_key)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform lets a folder be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _load(path: Path) -> SigningKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("signing key %s is readable by others (mode %o); chmod 600 it", path, mode)
    try:
        private_key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"{path}: not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyStoreError(f"{path}: not an Ed25519 key ({type(private_key).__name__})")
    return SigningKey(kid=thumbprint(private_key.public_key()), private_key=private_key)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
