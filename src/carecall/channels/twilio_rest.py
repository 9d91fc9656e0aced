"""Twilio's REST API, through the SDK, pointed wherever ``settings.twilio_api_base`` says.

In production the base is ``https://api.twilio.com`` and nothing is rewritten. Tests and
air-gapped demos set it to a local server that speaks Twilio's protocol; every request the
SDK makes to ``twilio.com`` or one of its sub-domains is then sent there instead (the path and
query are kept), so the SDK's own request building and response parsing are exercised.

Media downloads (recordings) go through the same rewriting and always carry HTTP Basic
authentication: carecall requires authenticated media URLs for PHI (see twilio.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from carecall.core.config import Settings
from carecall.core.errors import CarecallError, ConfigError

DEFAULT_API_BASE = "https://api.twilio.com"
#: Seconds to wait for Twilio's REST API before giving up on a request.
REST_TIMEOUT = 10.0


class TwilioUnavailable(CarecallError):
    """Twilio's API refused or did not answer; the caller may retry later."""

    code = "TWILIO_UNAVAILABLE"
    http_status = 502


def is_twilio_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "twilio.com" or host.endswith(".twilio.com")


def rewrite_url(url: str, api_base: str) -> str:
    """``url`` with a Twilio host replaced by ``api_base`` (unchanged for the default base)."""
    base = api_base.rstrip("/")
    if not base or base == DEFAULT_API_BASE:
        return url
    parts = urlsplit(url)
    if not is_twilio_host(parts.hostname or ""):
        return url
    target = urlsplit(base)
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))


class RewritingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's HTTP client, sending ``*.twilio.com`` requests to another base URL."""

    def __init__(self, api_base: str, timeout: float = REST_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, rewrite_url(url, self.api_base), *args, **kwargs)


def _require_credentials(settings: Settings) -> None:
    if not settings.twilio_account_sid or not settings.twilio_auth_token:
        raise ConfigError(
            "Twilio is not configured; set CARECALL_TWILIO_ACCOUNT_SID and "
            "CARECALL_TWILIO_AUTH_TOKEN."
        )


_clients: OrderedDict[tuple[str, str, str], Client] = OrderedDict()
_clients_lock = threading.Lock()
#: Clients kept (one per account, token and base); each holds a pool of kept-alive
#: connections, so a webhook or a campaign step does not pay a TLS handshake per request.
MAX_CLIENTS = 8


def rest_client(settings: Settings) -> Client:
    """The (shared, thread-safe) ``twilio.rest.Client`` for the account and API base."""
    _require_credentials(settings)
    key = (settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base)
    with _clients_lock:
        client = _clients.get(key)
        if client is not None:
            _clients.move_to_end(key)
            return client
        client = Client(key[0], key[1], http_client=RewritingHttpClient(key[2]))
        _clients[key] = client
        while len(_clients) > MAX_CLIENTS:
            _, old = _clients.popitem(last=False)
            _close(old)
        return client


def _close(client: Client) -> None:
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()


def close_clients() -> None:
    """Close every kept connection pool (at shutdown, and between tests)."""
    with _clients_lock:
        while _clients:
            _close(_clients.popitem()[1])


@contextmanager
def open_media(settings: Settings, url: str) -> Iterator[requests.Response]:
    """Stream a media resource (a recording's audio) with Basic authentication.

    Only Twilio hosts are fetched: the URL arrives in a webhook, and even a signed one must
    not make carecall send its credentials elsewhere.
    """
    _require_credentials(settings)
    parts = urlsplit(url)
    if parts.scheme != "https" or not is_twilio_host(parts.hostname or ""):
        raise TwilioUnavailable("A media URL outside api.twilio.com was refused.")
    target = rewrite_url(url, settings.twilio_api_base)
    try:
        response = requests.get(
            target,
            auth=(settings.twilio_account_sid, settings.twilio_auth_token),
            stream=True,
            timeout=REST_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise TwilioUnavailable(
            f"Twilio did not answer a media download ({type(exc).__name__}); retry later."
        ) from None
    try:
        if response.status_code != 200:
            raise TwilioUnavailable(
                f"Twilio answered a media download with HTTP {response.status_code}."
            )
        yield response
    finally:
        response.close()
