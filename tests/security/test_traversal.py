"""Attack 7, path traversal: recordings and the config editor's file names.

tests/console/test_calls_recordings.py covers stored paths pointing outside the recordings directory
(`..`, absolute, symlinks out); here:
- recording URLs with `..`, encoded `%2e%2e`/`%2f`, absolute paths, NUL, non-numbers, and stored paths
  holding NUL or `..` → 404/400, no audio, nothing audited: test_recording_urls_and_paths_reach_nothing_else
- every config-editor route taking a file name (from `app.url_map`), GET and POST, with `../`,
  absolute, encoded, doubled slashes, other case, other extensions, NUL → 404/400/405, and no file
  read or written anywhere (the YAML copies, the repository's config, the database):
  test_config_file_names_other_than_the_three_are_refused
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from config.settings import PACKAGE_DIR
from storage.models import AuditEvent, Recording
from tests.console.conftest import LogIn
from tests.security.support import Seeded, console_rules, files, methods, rows, token_of

RECORDING_TRICKS = ["/recordings/..%2F..%2Fsecret_key", "/recordings/%2e%2e/1", "/recordings/../recordings/1",
                    "/recordings/1%00", "/recordings/1%2F..%2F2", "/recordings//etc/passwd", "/recordings/-1",
                    "/recordings/1.wav", "/recordings/0x1", "/recordings/%2Fetc%2Fpasswd", "/recordings/1/../2"]
FILE_TRICKS = ["../app.py", "..%2Fapp.py", "%2e%2e/app.py", "%2e%2e%2fapp.py", "/etc/passwd", "%2Fetc%2Fpasswd",
               "menus/../categories.yaml", "menus/../../app.py", "./categories.yaml", "menus//main.yaml",
               "MENUS/main.yaml", "Categories.yaml", "menus/main.yml", "menus/main.yaml.bak", "categories.yaml/",
               "menus/other.yaml", "units.yaml%00.txt", "categories.yaml%00", "..", "menus", "secret_key",
               "menus/main.yaml/../../../app.py", "%252e%252e/app.py", "..\\app.py", "menus\\main.yaml"]


def test_recording_urls_and_paths_reach_nothing_else(console_app: Flask, log_in: LogIn, seeded: Seeded) -> None:
    admin = log_in("admin")
    for path in RECORDING_TRICKS:
        with admin.get(path) as reply:
            assert reply.status_code in (400, 404, 308), (path, reply.status_code)
            assert b"RIFF" not in reply.get_data() and reply.mimetype != "audio/wav", path
    settings = console_app.extensions["hotline"].settings
    hotline = console_app.extensions["hotline"]
    dialect = hotline.sessions.kw["bind"].dialect.name
    tricks = [f"{settings.recordings_dir}/../secret_key", "../../secret_key", f"{settings.data_dir}/secret_key"]
    if dialect == "sqlite":  # PostgreSQL cannot even store these
        tricks += [f"{seeded.mine.recording_path}\x00", f"{settings.recordings_dir}/\x00/../../secret_key"]
    for trick in tricks:
        with hotline.sessions.begin() as db:
            rec = db.get(Recording, seeded.mine.recording_id)
            assert rec is not None
            rec.local_path = trick
        with admin.get(f"/recordings/{seeded.mine.recording_id}") as reply:
            assert reply.status_code == 404, (trick, reply.status_code)
            assert b"RIFF" not in reply.get_data() and b"secret" not in reply.get_data()
    with hotline.sessions() as db:
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "recording.open")).all() == []


def test_config_file_names_other_than_the_three_are_refused(console_app: Flask, log_in: LogIn) -> None:
    settings = console_app.extensions["hotline"].settings
    admin = log_in("admin")
    token = token_of(admin, "/admin/config")
    watched = (settings.menu_dir, settings.config_dir, PACKAGE_DIR)
    before = files(*watched), {name: found for name, found in rows(console_app).items() if name != "audit_events"}
    rules = [rule for rule in console_rules(console_app) if "file" in rule.arguments]
    assert len(rules) >= 5
    for rule in rules:
        template = rule.rule.replace("<int:version_id>", "1")
        for trick in FILE_TRICKS:
            path = template.replace("<path:file>", trick)
            for method in methods(rule):
                form = {"csrf_token": token, "content": "x: 1\n", "action": "publish", "comment": "x", "reason": "x"}
                reply = admin.post(path, data=form) if method == "POST" else admin.get(path)
                assert reply.status_code in (400, 404, 405, 308), (method, path, reply.status_code)
                body = reply.get_data(as_text=True)
                assert "create_app" not in body and "root:" not in body, path
    assert files(*watched) == before[0], "a file was written"
    assert {name: found for name, found in rows(console_app).items() if name != "audit_events"} == before[1]
