"""The WebSocket side of a Media Stream: opening it as Twilio does, with Twilio's error codes on failure."""

from __future__ import annotations

import contextlib
import socket
import ssl
from urllib.parse import urlsplit

import simple_websocket
from simple_websocket.ws import Base as _WebSocketBase
from wsproto import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, Request

CLOSE_WAIT_S = 2.0  # how long to wait for the server's reply to our close frame

# Twilio's error codes for Media Streams.
CONNECTION_TIMEOUT = 31901
CONNECTION_REFUSED = 31902
SSL_ERROR = 31910
HANDSHAKE_ERROR = 31920
URL_SCHEME_NOT_SUPPORTED = 31922
MALFORMED_URL = 31923
PROTOCOL_ERROR = 31924
MALFORMED_MESSAGE = 31950


class StreamOpenError(Exception):
    """The WebSocket could not be opened; code is Twilio's error code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class StreamClient(simple_websocket.Client):
    """simple_websocket's client that leaks no socket when connecting fails, sends Host with the
    port (as a server rebuilding the signed URL needs), times out its handshake, and closes by
    waiting for the server's close reply instead of closing the socket under its reader thread."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        if not parts.hostname:
            raise StreamOpenError(f"malformed stream URL {url!r}", MALFORMED_URL)
        self.host = parts.hostname
        self.netloc = parts.netloc.rpartition("@")[2]
        self.port = parts.port or (443 if secure else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.subprotocols: list[str] = []
        self.extra_headeers = list(headers.items())  # (sic) simple_websocket's attribute name
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError:
            raise StreamOpenError(f"no answer from {url} within {timeout:g} s", CONNECTION_TIMEOUT) from None
        except OSError as exc:
            raise StreamOpenError(f"cannot connect to {url}: {exc}", CONNECTION_REFUSED) from None
        try:
            if secure:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            _WebSocketBase.__init__(self, sock, connection_type=ConnectionType.CLIENT)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, StreamOpenError):
                raise
            if isinstance(exc, ssl.SSLError):
                raise StreamOpenError(f"TLS failed with {url}: {exc}", SSL_ERROR) from None
            if isinstance(exc, TimeoutError):
                raise StreamOpenError(f"no handshake reply from {url} within {timeout:g} s",
                                      CONNECTION_TIMEOUT) from None
            if isinstance(exc, (OSError, simple_websocket.ConnectionError)):
                raise StreamOpenError(f"WebSocket handshake with {url} failed: {exc}", HANDSHAKE_ERROR) from None
            raise

    def handshake(self) -> None:
        self.sock.sendall(self.ws.send(Request(host=self.netloc, target=self.path,
                                               extra_headers=self.extra_headeers)))
        event = None
        while event is None:
            data = self.sock.recv(self.receive_bytes)
            if not data:
                raise StreamOpenError("the server closed the connection during the WebSocket handshake",
                                      HANDSHAKE_ERROR)
            self.ws.receive_data(data)
            event = next(self.ws.events(), None)
        if isinstance(event, RejectConnection):
            raise StreamOpenError(f"the server answered HTTP {event.status_code} instead of 101 Switching Protocols",
                                  HANDSHAKE_ERROR)
        if not isinstance(event, AcceptConnection):
            raise StreamOpenError(f"unexpected handshake reply {type(event).__name__}", HANDSHAKE_ERROR)
        self.subprotocol = event.subprotocol
        self.connected = True
        self.sock.settimeout(None)

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        """Send a close frame (when still open), wait for the reader thread, release the socket."""
        with contextlib.suppress(simple_websocket.ConnectionClosed, OSError):
            _WebSocketBase.close(self, reason, message)
        self.thread.join(CLOSE_WAIT_S)
        if self.thread.is_alive():
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.thread.join()
        self.sock.close()

    def abort(self) -> None:
        """Drop the connection as a failing network does: no close frame, the socket just goes."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(CLOSE_WAIT_S)
        self.sock.close()
