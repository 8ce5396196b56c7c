"""Checking X-Twilio-Signature on the request being handled, over the URL Twilio requested."""

from __future__ import annotations

from collections.abc import Mapping

from flask import request
from twilio.request_validator import RequestValidator

WEBSOCKET_SCHEMES = {"https": "wss", "http": "ws"}


def base_url(public_base_url: str | None) -> str:
    """The public base URL, or the one this request came to when none is configured."""
    return (public_base_url or request.host_url).rstrip("/")


def websocket_base_url(public_base_url: str | None) -> str:
    """The base URL with ws:// or wss:// for http:// or https://, as a <Stream url> is written."""
    scheme, _, rest = base_url(public_base_url).partition("://")
    return f"{WEBSOCKET_SCHEMES.get(scheme.lower(), scheme)}://{rest}"


def requested_url(public_base_url: str | None, *, websocket: bool = False) -> str:
    """The full URL Twilio signed: public base, path and query; ws(s):// for a WebSocket handshake."""
    base = websocket_base_url(public_base_url) if websocket else base_url(public_base_url)
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


def is_signed(auth_token: str | None, public_base_url: str | None, params: Mapping[str, str], *,
              websocket: bool = False) -> bool:
    """True when the request carries Twilio's valid signature; False without a token or a signature."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not auth_token or not signature:
        return False
    url = requested_url(public_base_url, websocket=websocket)
    return RequestValidator(auth_token).validate(url, dict(params), signature)
