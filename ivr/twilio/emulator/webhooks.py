"""Requests to the server, signed and shaped as Twilio sends them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

TWILIO_TIMEOUT_S = 15.0  # Twilio waits at most 15 s for a response (10 s of it to connect)
CONNECT_TIMEOUT_S = 10.0
USER_AGENT = "TwilioProxy/1.1"

# Twilio's error codes for what can go wrong fetching TwiML.
HTTP_RETRIEVAL_FAILURE = 11200
HTTP_CONNECTION_FAILURE = 11205
INVALID_URL = 11100


@dataclass(frozen=True)
class Reply:
    """What came back from one webhook request; error is set when Twilio would call it a failure."""

    url: str
    status: int | None
    body: bytes
    error: str | None = None
    code: int | None = None


class Webhooks:
    """Sends form-encoded, X-Twilio-Signature-signed requests over one requests.Session.

    With duplicate=True, requests marked as callbacks go out twice with the same body,
    signature and I-Twilio-Idempotency-Token (as a Twilio retry would); the first reply counts.
    """

    def __init__(self, auth_token: str, on_request: Callable[[dict], None], *,
                 timeout: float = TWILIO_TIMEOUT_S, duplicate: bool = False) -> None:
        self._validator = RequestValidator(auth_token)
        self._on_request = on_request
        self._timeout = (min(CONNECT_TIMEOUT_S, timeout), timeout)
        self._duplicate = duplicate
        self._session = requests.Session()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def send(self, url: str, params: Mapping[str, str], *, method: str = "POST",
             purpose: str, callback: bool = False) -> Reply:
        """Request `url` with Twilio's parameters: GET puts them in the query, POST in the body."""
        method = method.upper()
        if method == "GET":
            target, body = _with_query(url, params), None
            signature = self._validator.compute_signature(target, {})
        else:
            method, target, body = "POST", url, dict(params)
            signature = self._validator.compute_signature(target, body)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
        }
        reply = self._once(method, target, body, headers, purpose, duplicate=False)
        if callback and self._duplicate:
            self._once(method, target, body, headers, purpose, duplicate=True)
        return reply

    def _once(self, method: str, url: str, body: dict | None, headers: dict[str, str],
              purpose: str, *, duplicate: bool) -> Reply:
        started = time.monotonic()
        try:
            response = self._session.request(method, url, data=body, headers=headers,
                                             timeout=self._timeout, allow_redirects=False)
        except requests.Timeout:
            reply = Reply(url, None, b"", f"no response from {url} within {self._timeout[1]:g} s",
                          HTTP_CONNECTION_FAILURE)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            reply = Reply(url, None, b"", f"invalid URL {url!r}: {exc}", INVALID_URL)
        except requests.RequestException as exc:
            reply = Reply(url, None, b"", f"cannot connect to {url}: {exc}", HTTP_CONNECTION_FAILURE)
        else:
            with response:
                reply = _reply_from(url, response)
        event = {"event": "request", "purpose": purpose, "method": method, "url": url,
                 "status": reply.status, "ms": round((time.monotonic() - started) * 1000)}
        if duplicate:
            event["duplicate"] = True
        self._on_request(event)
        return reply


def _reply_from(url: str, response: requests.Response) -> Reply:
    """A Reply, with an error for anything but 2xx.

    3xx counts as a failure too: whether Twilio follows redirects is unverified, and a
    silent POST-to-GET switch would hide a misrouted webhook.
    """
    body = response.content
    if 200 <= response.status_code < 300:
        return Reply(url, response.status_code, body)
    detail = f"HTTP {response.status_code} from {url}"
    if 300 <= response.status_code < 400:
        detail += f" (redirect to {response.headers.get('Location', '?')})"
    return Reply(url, response.status_code, body, detail, HTTP_RETRIEVAL_FAILURE)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` appended to its query string."""
    parts = urlsplit(url)
    extra = urlencode(list(params.items()))
    query = f"{parts.query}&{extra}" if parts.query and extra else (parts.query or extra)
    return urlunsplit(parts._replace(query=query))
