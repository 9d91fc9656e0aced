"""AWS KMS as the key-encryption key: tenant keys are wrapped by KMS Encrypt and Decrypt.

The KEK never leaves KMS. Each call carries an EncryptionContext naming the tenant (and the
tenant key row), which KMS binds as associated data and records in CloudTrail, so a wrapped
key moved to another tenant does not decrypt and every unwrap is attributable.

The version string is ``aws-kms:<key ARN>#<rotations>``: KMS keeps every generation of key
material under one ARN, so the count of rotations is what changes when the KEK is rotated;
a change of ``kms_key_id`` to a new key changes the ARN. Decrypt is always called with the
ARN from the blob, as AWS recommends. Permissions needed: kms:Encrypt, kms:Decrypt,
kms:DescribeKey, kms:ListKeyRotations, and kms:RotateKeyOnDemand to rotate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from carecall.core.errors import IntegrityFailure, KeyUnavailable
from carecall.crypto.wrapped import decode_wrapped, encode_wrapped

VERSION_PREFIX = "aws-kms:"


class AwsKmsProvider:
    """KEKs in AWS KMS; ``client`` is a boto3 KMS client (moto's in tests)."""

    name = "aws-kms"

    def __init__(self, key_id: str, client: Any) -> None:
        self.key_id = key_id
        self._client = client
        self._version: str | None = None
        self._lock = threading.Lock()

    def current_version(self) -> str:
        with self._lock:
            if self._version is None:
                self._version = self._lookup_version()
            return self._version

    def wrap(self, key: bytes, context: Mapping[str, str]) -> bytes:
        version = self.current_version()
        arn = _arn(version)
        response = self._call("Encrypt", lambda: self._client.encrypt(
            KeyId=arn, Plaintext=key, EncryptionContext=dict(context)))
        return encode_wrapped(version, bytes(response["CiphertextBlob"]))

    def unwrap(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        version, payload = decode_wrapped(blob)
        if not version.startswith(VERSION_PREFIX):
            raise KeyUnavailable(
                f"A tenant key is wrapped by '{version}', not by AWS KMS; set "
                "CARECALL_KEY_PROVIDER to the provider that wrapped it."
            )
        response = self._call("Decrypt", lambda: self._client.decrypt(
            KeyId=_arn(version), CiphertextBlob=payload, EncryptionContext=dict(context)))
        return bytes(response["Plaintext"])

    def rotate(self) -> str:
        """Ask KMS for new key material now (RotateKeyOnDemand); old material stays usable."""
        self._call("RotateKeyOnDemand",
                   lambda: self._client.rotate_key_on_demand(KeyId=self.key_id))
        with self._lock:
            self._version = self._lookup_version()
            return self._version

    def check(self) -> None:
        response = self._call("DescribeKey",
                              lambda: self._client.describe_key(KeyId=self.key_id))
        meta = response["KeyMetadata"]
        usage = meta.get("KeyUsage", "ENCRYPT_DECRYPT")
        if meta.get("KeyState") != "Enabled" or usage != "ENCRYPT_DECRYPT":
            raise KeyUnavailable(
                f"KMS key {self.key_id} is {meta.get('KeyState')} or not an encryption key; "
                "enable it or set CARECALL_KMS_KEY_ID to a symmetric ENCRYPT_DECRYPT key."
            )

    def _lookup_version(self) -> str:
        meta = self._call("DescribeKey",
                          lambda: self._client.describe_key(KeyId=self.key_id))["KeyMetadata"]
        arn = str(meta["Arn"])
        rotations = 0
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"KeyId": arn}
            if marker:
                kwargs["Marker"] = marker
            page = self._call("ListKeyRotations",
                              partial(self._client.list_key_rotations, **kwargs))
            rotations += len(page.get("Rotations", []))
            marker = page.get("NextMarker")
            if not page.get("Truncated") or not marker:
                break
        return f"{VERSION_PREFIX}{arn}#{rotations}"

    def _call(self, operation: str, request: Callable[[], Any]) -> Any:
        """Translate boto errors at the boundary into carecall's one-line errors."""
        try:
            return request()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code == "InvalidCiphertextException":
                raise IntegrityFailure(
                    "AWS KMS rejected a wrapped tenant key (altered, or bound to another "
                    "tenant); restore tenant_keys from backup and report a possible incident."
                ) from None
            raise KeyUnavailable(
                f"AWS KMS refused {operation} ({code}); check that key {self.key_id} is "
                f"enabled and this role may call kms:{operation}."
            ) from None
        except BotoCoreError as exc:
            raise KeyUnavailable(
                f"AWS KMS is unreachable ({type(exc).__name__}); check network access, "
                "credentials and CARECALL_KMS_REGION."
            ) from None


def _arn(version: str) -> str:
    return version.removeprefix(VERSION_PREFIX).rsplit("#", 1)[0]
