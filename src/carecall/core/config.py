"""Settings: one typed object, read from ``CARECALL_*`` variables and an optional TOML file.

Nothing reads settings at import time; the application factory builds a ``Settings`` and
passes it down. Environment variables win over the file, the file over the defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from carecall.core.errors import ConfigError

ENV_PREFIX = "CARECALL_"


@dataclass(frozen=True)
class Settings:
    """Everything carecall needs to know about where it runs."""

    data_dir: Path = Path("./carecall-data")
    #: SQLAlchemy URL; empty means the embedded SQLite file in ``data_dir``.
    database_url: str = ""
    #: ``local`` (a key file in data_dir) or ``aws-kms``.
    key_provider: str = "local"
    kms_key_id: str = ""
    kms_region: str = "us-east-1"
    kms_endpoint_url: str = ""
    #: How long an unwrapped tenant key stays in memory, in seconds.
    key_cache_seconds: float = 300.0
    #: The expected number of patients per tenant; blind-index truncation is sized from it.
    blind_index_population: int = 100_000
    #: The origin line of signed audit tree heads (C2SP tlog-checkpoint).
    audit_origin: str = "carecall.local/audit"
    #: Seconds between automatic signed tree heads while serving.
    audit_head_interval: float = 60.0
    #: The public base URL Twilio calls (behind a proxy, the proxy's URL).
    public_base_url: str = ""
    #: Twilio credentials (the auth token signs webhooks and authenticates REST calls).
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    #: Where Twilio's REST API lives; tests point it at a local server speaking its protocol.
    twilio_api_base: str = "https://api.twilio.com"
    #: Outbound campaigns: attempts in flight at once, and seconds between two contacts to
    #: one number.
    campaign_concurrency: int = 10
    campaign_number_interval: float = 60.0
    #: Seconds between two looks at an in-flight call's status, and between two sweeps that
    #: hand queued attempts to the job engine.
    campaign_poll_interval: float = 5.0
    #: The job engine's (DBOS) system database: empty means ``jobs.db`` beside the embedded
    #: SQLite file, or the main PostgreSQL database (schema ``jobs_schema``) in production.
    jobs_database_url: str = ""
    jobs_schema: str = "dbos"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'carecall.db').resolve()}"

    @property
    def kek_path(self) -> Path:
        return self.data_dir / "keys" / "kek.json"

    @property
    def audit_key_path(self) -> Path:
        return self.data_dir / "keys" / "audit-signing.key"

    @property
    def is_embedded(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    try:
        if isinstance(default, Path):
            return Path(str(raw)).expanduser()
        if isinstance(default, bool):
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Setting {name} has an invalid value; expected a {type(default).__name__}."
        ) from None
    return str(raw)


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Build settings from the environment and, if present, a TOML file.

    The file is ``CARECALL_CONFIG`` when set, else ``carecall.toml`` in the data directory.
    """
    env = dict(os.environ if environ is None else environ)
    defaults = Settings()
    values: dict[str, Any] = {}
    known = {f.name for f in fields(Settings) if f.name != "extra"}

    data_dir = Path(env.get(ENV_PREFIX + "DATA_DIR", str(defaults.data_dir))).expanduser()
    path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if ENV_PREFIX + "CONFIG" in env else None
    )
    if path is None and (data_dir / "carecall.toml").is_file():
        path = data_dir / "carecall.toml"
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Config file {path} does not exist; fix CARECALL_CONFIG.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config file {path} is not valid TOML ({exc}).") from None
        section = document.get("carecall", document)
        for key, raw in section.items():
            if key not in known:
                raise ConfigError(f"Config file {path}: unknown setting '{key}'.")
            values[key] = _coerce(key, raw, getattr(defaults, key))

    for name in known:
        env_key = ENV_PREFIX + name.upper()
        if env_key in env:
            values[name] = _coerce(env_key, env[env_key], getattr(defaults, name))
    settings = replace(defaults, **values)
    if settings.key_provider not in {"local", "aws-kms"}:
        raise ConfigError("CARECALL_KEY_PROVIDER must be 'local' or 'aws-kms'.")
    if settings.key_provider == "aws-kms" and not settings.kms_key_id:
        raise ConfigError("CARECALL_KMS_KEY_ID is required when the key provider is aws-kms.")
    return settings
