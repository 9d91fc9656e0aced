"""The local key file: versioned 256-bit key-encryption keys in one private JSON file.

The embedded default. The file is the root of every tenant's keys, so it is created once with
mode 0600, never overwritten (losing it loses every patient record: back it up apart from the
database, 45 CFR 164.308(a)(7)(ii)(A)), and refused when group or others can read it. KEK
rotation adds a version and keeps the old ones, so tenant keys wrapped under them stay
readable until the keyring has rewrapped them.

Format::

    {"format": "carecall-kek/1", "current": 2,
     "keys": {"1": {"key": "<base64 32 bytes>", "created_at": "..."}, "2": {...}}}
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import secrets
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carecall.core.errors import IntegrityFailure, KeyUnavailable
from carecall.crypto.wrapped import decode_wrapped, encode_context, encode_wrapped

FILE_FORMAT = "carecall-kek/1"
VERSION_PREFIX = "local:"
_NONCE = 12
_AAD_LABEL = b"carecall/kek-wrap/v1"


@dataclass(frozen=True)
class _KeyFile:
    current: int
    keys: dict[int, AESGCM]
    stamp: tuple[int, int, int]


def create_local_kek(path: Path) -> bool:
    """Create the key file with one fresh KEK; ``False`` (and nothing touched) if it exists.

    The file is written under a temporary name and hard-linked into place, so a crash never
    leaves a half-written key file and two racing creators cannot both win.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return False
    document = {"format": FILE_FORMAT, "current": 1, "keys": {"1": _new_entry()}}
    temp = _write_private_temp(path, document)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink()
    _fsync_dir(path.parent)
    return True


class LocalKeyFileProvider:
    """KEKs from the local key file; re-reads the file when it changes (another process
    may have rotated it)."""

    name = "local"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: _KeyFile | None = None
        self._lock = threading.Lock()

    def current_version(self) -> str:
        return f"{VERSION_PREFIX}{self._load().current}"

    def wrap(self, key: bytes, context: Mapping[str, str]) -> bytes:
        loaded = self._load()
        version = f"{VERSION_PREFIX}{loaded.current}"
        nonce = os.urandom(_NONCE)
        sealed = loaded.keys[loaded.current].encrypt(nonce, key, _aad(version, context))
        return encode_wrapped(version, nonce + sealed)

    def unwrap(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        version, payload = decode_wrapped(blob)
        number = _version_number(version)
        loaded = self._load()
        aead = loaded.keys.get(number) if number is not None else None
        if aead is None:
            raise KeyUnavailable(
                f"A tenant key is wrapped by KEK version '{version}', which {self.path} does "
                "not hold; restore the key file from backup (or check the key provider setting)."
            )
        try:
            return aead.decrypt(payload[:_NONCE], payload[_NONCE:], _aad(version, context))
        except InvalidTag:
            raise IntegrityFailure(
                "A wrapped tenant key failed its integrity check; restore the tenant_keys "
                "table from backup and report a possible security incident."
            ) from None

    def rotate(self) -> str:
        """Add a KEK version and make it current; old versions stay for unwrapping."""
        with self._lock, _file_lock(self.path):
            self._loaded = None
            loaded = self._load()
            document = self._read_document()
            number = max(loaded.keys) + 1
            document["keys"][str(number)] = _new_entry()
            document["current"] = number
            temp = _write_private_temp(self.path, document)
            os.replace(temp, self.path)
            _fsync_dir(self.path.parent)
            self._loaded = None
        return f"{VERSION_PREFIX}{number}"

    def check(self) -> None:
        self._load()

    # -- reading ---------------------------------------------------------------------

    def _load(self) -> _KeyFile:
        info = self._stat()
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        loaded = self._loaded
        if loaded is not None and loaded.stamp == stamp:
            return loaded
        document = self._read_document()
        loaded = self._parse(document, stamp)
        self._loaded = loaded
        return loaded

    def _stat(self) -> os.stat_result:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise KeyUnavailable(
                f"Key file {self.path} does not exist; run `carecall init` for a new install, "
                "or restore the file from backup."
            ) from None
        except OSError as exc:
            raise KeyUnavailable(
                f"Key file {self.path} cannot be read ({exc.strerror}); fix its permissions."
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise KeyUnavailable(f"Key file {self.path} is not a regular file; restore it.")
        if info.st_mode & 0o077:
            raise KeyUnavailable(
                f"Key file {self.path} is accessible to group or others; "
                f"run `chmod 600 {self.path}` and rotate the KEK if others may have read it."
            )
        return info

    def _read_document(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self._malformed("not JSON") from None
        except OSError as exc:
            raise KeyUnavailable(
                f"Key file {self.path} cannot be read ({exc.strerror}); fix its permissions."
            ) from None
        if not isinstance(document, dict):
            raise self._malformed("not a JSON object")
        return document

    def _parse(self, document: dict[str, Any], stamp: tuple[int, int, int]) -> _KeyFile:
        if document.get("format") != FILE_FORMAT:
            raise self._malformed(f"format is not {FILE_FORMAT}")
        entries = document.get("keys")
        if not isinstance(entries, dict) or not entries:
            raise self._malformed("no keys")
        keys: dict[int, AESGCM] = {}
        for name, entry in entries.items():
            if not (isinstance(name, str) and name.isdigit() and int(name) > 0):
                raise self._malformed("a key version is not a positive number")
            keys[int(name)] = AESGCM(self._key_bytes(entry))
        current = document.get("current")
        if type(current) is not int or current not in keys:
            raise self._malformed("'current' names no key in the file")
        return _KeyFile(current=current, keys=keys, stamp=stamp)

    def _key_bytes(self, entry: object) -> bytes:
        encoded = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(encoded, str):
            raise self._malformed("a key entry has no key")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise self._malformed("a key is not base64") from None
        if len(raw) != 32:
            raise self._malformed("a key is not 32 bytes")
        return raw

    def _malformed(self, why: str) -> KeyUnavailable:
        return KeyUnavailable(
            f"Key file {self.path} is malformed ({why}); restore it from backup. Do not "
            "recreate it: data under the old keys would become unreadable."
        )


def _aad(version: str, context: Mapping[str, str]) -> bytes:
    return _AAD_LABEL + encode_wrapped(version, encode_context(context))


def _version_number(version: str) -> int | None:
    digits = version.removeprefix(VERSION_PREFIX)
    if not version.startswith(VERSION_PREFIX) or not digits.isdigit():
        return None
    return int(digits)


def _new_entry() -> dict[str, str]:
    return {
        "key": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_private_temp(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` to a fresh 0600 file beside ``path`` and fsync it."""
    temp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(document, indent=2).encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temp


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _file_lock:  # noqa: N801 - used as a context manager, reads like one
    """An exclusive lock on a 0600 sidecar file, so two processes never rotate at once."""

    def __init__(self, path: Path) -> None:
        self._path = path.parent / f"{path.name}.lock"
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
