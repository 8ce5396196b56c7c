"""Our side of one Twilio Media Stream: bot audio and marks out, barge-in clears, the socket closed.

Every frame sent is also written to the bot's channel of the stream's recording, so a supervisor
hears what the caller heard; a clear cuts that channel where Twilio cut the playback.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simple_websocket import ConnectionClosed
from simple_websocket.ws import Base as WebSocket

from speech.mulaw import mulaw_decode
from speech.recorder import CallRecorder

log = logging.getLogger(__name__)


class Sender:
    """The way back to Twilio for one stream; safe to call from any thread, a no-op once closed."""

    def __init__(self, ws: WebSocket, stream_sid: str, recorder: CallRecorder | None) -> None:
        self._ws = ws
        self.stream_sid = stream_sid
        self._recorder = recorder
        self._lock = threading.Lock()
        self._closed = False

    @property
    def recording_path(self) -> Path | None:
        """Where this stream's stereo recording is written (None when it could not be opened)."""
        return self._recorder.path if self._recorder is not None else None

    @property
    def closed(self) -> bool:
        """True once this side closed the socket or the socket went away."""
        return self._closed or not self._ws.connected

    @property
    def closed_here(self) -> bool:
        """True once close() was called (the reader stops; frames Twilio already sent are dropped)."""
        return self._closed

    def play(self, audio_frames: Sequence[bytes], mark: str) -> bool:
        """Queue μ-law frames on Twilio's side, then a mark Twilio echoes once they have played."""
        messages = [{"event": "media", "streamSid": self.stream_sid,
                     "media": {"payload": base64.b64encode(frame).decode("ascii")}} for frame in audio_frames]
        messages.append({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": mark}})
        with self._lock:
            sent = self._send(messages)
            if sent and audio_frames:
                self._record(lambda rec: rec.bot(mulaw_decode(b"".join(audio_frames))))
        return sent

    def clear(self) -> bool:
        """Drop the audio Twilio has queued but not played (barge-in)."""
        with self._lock:
            sent = self._send([{"event": "clear", "streamSid": self.stream_sid}])
            self._record(lambda rec: rec.clear_bot())
        return sent

    def close(self) -> None:
        """Close the socket: Twilio goes on with the TwiML after <Connect>."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._ws.close()
            except (ConnectionClosed, OSError):  # already gone: nothing left to close
                pass

    def _send(self, messages: list[dict[str, Any]]) -> bool:
        if self.closed:
            log.debug("stream %s is closed: %d message(s) not sent", self.stream_sid, len(messages))
            return False
        try:
            for message in messages:
                self._ws.send(json.dumps(message))
        except (ConnectionClosed, OSError) as error:
            log.info("stream %s went away while sending: %s", self.stream_sid, error)
            return False
        return True

    def _record(self, write: Callable[[CallRecorder], None]) -> None:
        if self._recorder is not None:
            try:
                write(self._recorder)
            except ValueError:  # the recording was closed at the end of the stream
                pass
