"""The recording server on its own: basic auth, paths, lifecycle."""

from __future__ import annotations

import requests

from ivr.twilio.emulator import RecordingServer

SID = "AC" + "ab" * 16
TOKEN = "secret-token"
REC = "RE" + "cd" * 16


def test_serves_stored_wav_with_basic_auth_only() -> None:
    with RecordingServer(SID, TOKEN) as server, requests.Session() as http:
        url = server.add(REC, b"RIFF....WAVE")
        assert url == f"{server.base_url}/2010-04-01/Accounts/{SID}/Recordings/{REC}"
        ok = http.get(url + ".wav", auth=(SID, TOKEN), timeout=5)
        head = http.head(url, auth=(SID, TOKEN), timeout=5)
        assert (ok.status_code, ok.content, ok.headers["Content-Type"]) == (200, b"RIFF....WAVE", "audio/x-wav")
        assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "12", b"")
        assert http.get(url, timeout=5).status_code == 401
        assert http.get(url, auth=(SID, "wrong"), timeout=5).headers["WWW-Authenticate"].startswith("Basic")
        assert http.get(url, headers={"Authorization": "Basic !!!"}, timeout=5).status_code == 401
        other_account = url.replace(SID, "AC" + "00" * 16)
        assert http.get(other_account, auth=(SID, TOKEN), timeout=5).status_code == 404
        assert http.get(url + ".mp3", auth=(SID, TOKEN), timeout=5).status_code == 404
        missing = url.replace(REC, "RE" + "ef" * 16)
        assert http.get(missing, auth=(SID, TOKEN), timeout=5).status_code == 404


def test_stop_is_idempotent_and_frees_the_port() -> None:
    server = RecordingServer(SID, TOKEN).start()
    base = server.base_url
    server.stop()
    server.stop()
    try:
        requests.get(base, timeout=1)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("server still answering after stop()")
