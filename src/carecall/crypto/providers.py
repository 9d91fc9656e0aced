"""Key-encryption-key providers behind one interface: the local key file or AWS KMS.

A provider wraps and unwraps tenant keys; it never sees a patient's data key or data. The
wrapped blob names the KEK version that made it (``carecall.crypto.wrapped``), so rotation
can find what still needs rewrapping and a reader knows which KEK to ask for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from carecall.core.config import Settings
from carecall.core.errors import ConfigError
from carecall.crypto.aws_kms import AwsKmsProvider
from carecall.crypto.local_kek import LocalKeyFileProvider, create_local_kek
from carecall.crypto.wrapped import wrapped_kek_version

__all__ = [
    "AwsKmsProvider",
    "KeyProvider",
    "LocalKeyFileProvider",
    "build_key_provider",
    "create_local_kek",
    "wrapped_kek_version",
]


class KeyProvider(Protocol):
    """Where key-encryption keys live. Every method may raise ``KeyUnavailable``."""

    name: str

    def current_version(self) -> str:
        """The KEK version new wraps use."""
        ...

    def wrap(self, key: bytes, context: Mapping[str, str]) -> bytes:
        """Encrypt ``key`` under the current KEK, bound to ``context`` (e.g. the tenant id)."""
        ...

    def unwrap(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        """Decrypt a wrapped key under the KEK version the blob names; ``IntegrityFailure``
        if it was altered or ``context`` differs."""
        ...

    def rotate(self) -> str:
        """Make a new KEK version current and return it; old versions stay for unwrapping."""
        ...

    def check(self) -> None:
        """Readiness: raise ``KeyUnavailable`` with what to do when the KEK cannot be used."""
        ...


def build_key_provider(settings: Settings) -> KeyProvider:
    """The configured provider. Nothing is contacted or created here: the local key file is
    made by ``create_local_kek`` (``carecall init``) and checked by ``check()``."""
    if settings.key_provider == "local":
        return LocalKeyFileProvider(settings.kek_path)
    if settings.key_provider == "aws-kms":
        if not settings.kms_key_id:
            raise ConfigError(
                "CARECALL_KMS_KEY_ID is required when the key provider is aws-kms."
            )
        import boto3

        client = boto3.client(
            "kms",
            region_name=settings.kms_region,
            endpoint_url=settings.kms_endpoint_url or None,
        )
        return AwsKmsProvider(settings.kms_key_id, client)
    raise ConfigError("CARECALL_KEY_PROVIDER must be 'local' or 'aws-kms'.")
