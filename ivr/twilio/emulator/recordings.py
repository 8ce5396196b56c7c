"""A loopback stand-in for Twilio's recording storage, serving WAV files behind HTTP basic auth."""

from __future__ import annotations

import base64
import hmac
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

_PATH = re.compile(r"/2010-04-01/Accounts/([^/]+)/Recordings/(RE[0-9a-f]{32})(\.wav)?")


class RecordingServer:
    """Stores recordings in memory and serves them as Twilio does, at
    /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}[.wav], with basic auth
    (account SID, auth token). Other extensions (.mp3, .json) answer 404.
    """

    def __init__(self, account_sid: str, auth_token: str, host: str = "127.0.0.1") -> None:
        self.account_sid = account_sid
        self._credentials = f"{account_sid}:{auth_token}".encode()
        self._recordings: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """http://host:port of the running server."""
        if self._server is None:
            raise RuntimeError("recording server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RecordingServer:
        """Listen on an ephemeral loopback port and serve in a background thread."""
        if self._server is None:
            self._server = ThreadingHTTPServer((self._host, 0), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="recording-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def add(self, recording_sid: str, wav: bytes) -> str:
        """Store a recording and return its RecordingUrl (no extension, as Twilio gives it)."""
        with self._lock:
            self._recordings[recording_sid] = wav
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"

    def get(self, recording_sid: str) -> bytes | None:
        """The stored WAV bytes, or None."""
        with self._lock:
            return self._recordings.get(recording_sid)

    def authorised(self, header: str | None) -> bool:
        """True when an Authorization header carries this account's SID and token."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except ValueError:
            return False
        return hmac.compare_digest(given, self._credentials)


def _handler_for(store: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class RecordingHandler(BaseHTTPRequestHandler):
        server_version = "EmulatedTwilioMedia/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self._serve(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(with_body=False)

        def _serve(self, with_body: bool) -> None:
            if not store.authorised(self.headers.get("Authorization")):
                self._reply(HTTPStatus.UNAUTHORIZED, b"authentication required\n", "text/plain",
                            with_body, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
                return
            match = _PATH.fullmatch(self.path.split("?", 1)[0])
            wav = store.get(match.group(2)) if match and match.group(1) == store.account_sid else None
            if wav is None:
                self._reply(HTTPStatus.NOT_FOUND, b"recording not found\n", "text/plain", with_body)
                return
            self._reply(HTTPStatus.OK, wav, "audio/x-wav", with_body)

        def _reply(self, status: HTTPStatus, body: bytes, ctype: str, with_body: bool,
                   headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
            pass  # stdout/stderr belong to the CLI's JSON lines

    return RecordingHandler
