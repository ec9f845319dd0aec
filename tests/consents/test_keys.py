"""The operator's Ed25519 signing keys: made once, shared by racing processes, rotated."""

import base64
import hashlib
import json
import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from consents import keys


@pytest.fixture
def key_dir(settings, tmp_path) -> Path:
    path = tmp_path / "keys"
    settings.TAHTO_KEY_DIR = path
    return path


def key_files(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if keys.KEY_FILE_RE.match(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_pem(path: Path, private_key) -> None:
    path.write_bytes(private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(0o600)


def test_first_use_creates_one_private_pkcs8_key_file(key_dir):
    key = keys.signing_key()

    [name] = key_files(key_dir)
    path = key_dir / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    assert isinstance(key.private_key, Ed25519PrivateKey)


def test_key_is_reused_by_later_calls_and_by_a_fresh_process(key_dir):
    first = keys.signing_key()
    keys._cache.clear()  # as a new process would start

    again = keys.signing_key()

    assert again.kid == first.kid
    assert len(key_files(key_dir)) == 1


def _race_in_child(barrier, results) -> None:
    barrier.wait()
    results.put(keys.signing_key().kid)


def test_racing_processes_end_with_one_key(key_dir):
    ctx = multiprocessing.get_context("fork")  # children inherit the test's settings
    barrier, results = ctx.Barrier(6), ctx.Queue()
    workers = [ctx.Process(target=_race_in_child, args=(barrier, results)) for _ in range(6)]
    for worker in workers:
        worker.start()
    kids = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    assert len(key_files(key_dir)) == 1
    assert len(set(kids)) == 1
    assert keys.signing_key().kid == kids[0]


def test_racing_threads_end_with_one_key(key_dir):
    barrier, kids = threading.Barrier(8), []

    def create() -> None:
        barrier.wait()
        kids.append(keys.signing_key().kid)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(key_files(key_dir)) == 1
    assert len(set(kids)) == 1


def test_rotate_makes_a_new_signing_key_and_keeps_publishing_the_old(key_dir):
    old = keys.signing_key()

    new = keys.rotate()

    assert new.kid != old.kid
    assert keys.signing_key().kid == new.kid
    assert list(keys.public_keys()) == [new.kid, old.kid]  # newest first
    assert [k["kid"] for k in keys.public_jwks()["keys"]] == [new.kid, old.kid]
    assert len(key_files(key_dir)) == 2


def test_two_rotations_in_one_second_still_order_by_name(key_dir):
    made = [keys.rotate().kid for _ in range(3)]

    assert len(set(made)) == 3
    assert keys.signing_key().kid == made[-1]
    assert len(key_files(key_dir)) == 3


def test_a_key_added_by_another_process_is_noticed(key_dir):
    keys.signing_key()
    other = Ed25519PrivateKey.generate()
    write_pem(key_dir / "ed25519-29991231T235959Z.pem", other)  # sorts last: the newest

    assert keys.signing_key().kid == keys.thumbprint(other.public_key())


def test_files_that_are_not_keys_are_ignored(key_dir):
    key_dir.mkdir(parents=True)
    (key_dir / "README").write_text("not a key")
    (key_dir / ".ed25519-abc.tmp").write_text("half-written")

    keys.signing_key()

    assert len(key_files(key_dir)) == 1


def test_a_key_file_of_another_type_is_refused(key_dir):
    key_dir.mkdir(parents=True)
    write_pem(key_dir / "ed25519-20250101T000000Z.pem", ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(keys.KeyStoreError, match="not an Ed25519 key"):
        keys.signing_key()


def test_jwks_publishes_the_public_half_only(key_dir):
    key = keys.signing_key()

    [jwk] = keys.public_jwks()["keys"]

    assert "d" not in jwk
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(key.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "kid": key.kid,
        "use": "sig",
        "alg": "Ed25519",
    }
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    public.verify(key.private_key.sign(b"hello"), b"hello")


def test_kid_is_the_rfc7638_thumbprint(key_dir):
    key = keys.signing_key()
    x = b64url(key.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    # RFC 7638 §3: the required members in lexicographic order, no whitespace, SHA-256.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))

    assert key.kid == b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def test_thumbprint_matches_the_rfc8037_example():
    # RFC 8037 Appendix A.2 (public key) and A.3 (its JWK thumbprint).
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(x))

    assert keys.thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
