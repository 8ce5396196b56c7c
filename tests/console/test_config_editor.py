"""The YAML editor through the real app and database: check, compare, publish, versions, roll back, access."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from config.menu import Menu
from config.settings import Settings
from ivr.actions import Action, Say
from ivr.events import DigitsPressed
from storage import config_versions
from storage.audit import recent
from storage.models import ConfigPublication, Unit
from tests.console.config_support import config_settings, edited, line_of, read_page, submit, token

LogIn = Callable[[str], FlaskClient]
MENU = "menus/main.yaml"
GREETING = "Xin chào, đây là đường dây nóng 1022"


@pytest.fixture
def console_settings(db_url: str, tmp_path: Path) -> Settings:
    """Overrides the console fixture: this app runs private copies of the YAML files."""
    return config_settings(db_url, tmp_path)


@pytest.fixture
def admin(log_in: LogIn) -> FlaskClient:
    return log_in("admin")


def menu_path(app: Flask) -> Path:
    return app.extensions["hotline"].settings.menu_dir / "main.yaml"


def publications(app: Flask) -> int:
    with app.extensions["hotline"].sessions() as db:
        return db.scalar(select(func.count()).select_from(ConfigPublication)) or 0


def render(actions: Sequence[Action], seq: int) -> str:
    return json.dumps([a.text for a in actions if isinstance(a, Say)], ensure_ascii=False)


def test_the_index_lists_the_three_files_with_what_runs(console_app: Flask, admin: FlaskClient) -> None:
    page = read_page(admin.get("/admin/config"))
    files = [row[0] for row in page.cells if row]
    assert files == [MENU, "categories.yaml", "units.yaml"]
    live = console_app.extensions["hotline"].menus.current().version
    assert page.cells[1][1] == live[:12]
    assert "chưa xuất bản" in page.cells[1][2]


def test_checking_shows_every_problem_at_its_line(console_app: Flask, admin: FlaskClient) -> None:
    text = edited(menu_path(console_app).read_text(), "next: report_category", "next: lights")
    text = edited(text, "max_tries: 3", "max_tries: many")
    response = submit(admin, MENU, text, "validate")
    assert response.status_code == 200
    page = read_page(response)
    wrong, tries = line_of(text, "next: lights"), line_of(text, "max_tries: many")
    assert f"dòng {tries}: defaults.max_tries: expected a whole number" in page.problems
    assert set(page.marked) == {tries}, "schema problems come first; the graph is checked once the schema holds"
    assert page.textarea == text, "the submitted text comes back to be fixed"

    text = edited(text, "max_tries: many", "max_tries: 3")
    page = read_page(submit(admin, MENU, text, "validate"))
    assert page.problems == [f"dòng {wrong}: nodes.main_menu.options[0].next: 'lights' is not a node"]
    assert page.marked == {wrong: "'lights' is not a node"}


def test_a_good_text_checks_clean(console_app: Flask, admin: FlaskClient) -> None:
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị, đây là đường dây nóng 1022")
    page = read_page(submit(admin, MENU, text, "validate"))
    assert page.problems == [] and page.marked == {}
    assert ("ok", "Không có lỗi: máy chủ nạp được nội dung này.") in page.flashes


def test_comparing_shows_the_lines_added_and_removed(console_app: Flask, admin: FlaskClient) -> None:
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị, đây là đường dây nóng 1022")
    page = read_page(submit(admin, MENU, text.replace("\n", "\r\n"), "diff"))
    changed = [(kind, line) for kind, line in page.diff if kind in ("add", "del")]
    assert changed == [("del", f"-      {GREETING} Thành phố Hồ Chí Minh,"),
                       ("add", "+      Kính chào quý vị, đây là đường dây nóng 1022 Thành phố Hồ Chí Minh,")]
    assert [kind for kind, _ in page.diff[:3]] == ["head", "head", "hunk"]


def test_a_broken_menu_is_not_published_and_nothing_changes(console_app: Flask, admin: FlaskClient) -> None:
    hotline = console_app.extensions["hotline"]
    hotline.menus.check_every_s = 0.0
    before, on_disk = hotline.menus.current().version, menu_path(console_app).read_bytes()
    text = edited(on_disk.decode(), "next: report_category", "next: lights")
    response = submit(admin, MENU, text, "publish", comment="thử")
    assert response.status_code == 422
    page = read_page(response)
    assert page.problems == [f"dòng {line_of(text, 'next: lights')}: nodes.main_menu.options[0].next: 'lights' is not a node"]
    assert page.flashes[0][0] == "error"
    assert hotline.menus.current().version == before
    assert menu_path(console_app).read_bytes() == on_disk
    assert publications(console_app) == 0
    with hotline.sessions() as db:
        assert [e.action for e in recent(db) if e.action.startswith("config.")] == []


def test_a_publish_needs_a_comment(console_app: Flask, admin: FlaskClient) -> None:
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị")
    response = submit(admin, MENU, text, "publish", comment="  ")
    assert response.status_code == 422
    assert read_page(response).flashes == [("error", "Cần ghi chú cho lần xuất bản (sửa gì, vì sao).")]
    assert publications(console_app) == 0


def test_a_good_publish_is_live_recorded_and_audited(console_app: Flask, admin: FlaskClient) -> None:
    hotline = console_app.extensions["hotline"]
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị, đây là đường dây nóng 1022")
    response = submit(admin, MENU, text.replace("\n", "\r\n"), "publish", comment="Lời chào mới")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/config/{MENU}"
    assert menu_path(console_app).read_text() == text, "written with Unix line ends"
    sha = config_versions.sha256_of(text)
    hotline.menus.check_every_s = 0.0
    assert hotline.menus.current().version == sha
    assert "Kính chào quý vị" in hotline.service.begin(sid="CA" + "1" * 32, caller="+84901111222", to="1022",
                                                       render=render)
    rows = read_page(admin.get(f"/admin/config/{MENU}/versions")).cells[1:]
    assert [(row[1], row[2], row[3]) for row in rows] == [("admin", "Lời chào mới", sha[:12])]
    with hotline.sessions() as db:
        [event] = [e for e in recent(db) if e.action == "config.publish"]
        assert (event.actor, event.target_type, event.target_id) == ("admin", "config", MENU)
        assert event.detail is not None and event.detail["sha256"] == sha
    again = submit(admin, MENU, text, "publish", comment="lần nữa")
    assert again.status_code == 422, "the same text again publishes nothing"
    assert publications(console_app) == 1


def test_rolling_back_publishes_the_earlier_text_again(console_app: Flask, admin: FlaskClient) -> None:
    hotline = console_app.extensions["hotline"]
    original = menu_path(console_app).read_text()
    first = edited(original, GREETING, "Kính chào quý vị, đây là đường dây nóng 1022")
    second = edited(original, GREETING, "Chào bạn, đây là đường dây nóng 1022")
    assert submit(admin, MENU, first, "publish", comment="một").status_code == 302
    assert submit(admin, MENU, second, "publish", comment="hai").status_code == 302
    history = hotline.config_service.versions(MENU)
    assert [p.comment for p in history] == ["hai", "một"]
    earlier = history[1].version_id
    page = read_page(admin.get(f"/admin/config/{MENU}/versions"))
    assert f"/admin/config/{MENU}/versions/{earlier}/rollback" in page.forms
    assert f"/admin/config/{MENU}/versions/{history[0].version_id}/rollback" not in page.forms, "not the live one"

    shown = read_page(admin.get(f"/admin/config/{MENU}/versions/{earlier}"))
    assert shown.textarea == first
    response = admin.post(f"/admin/config/{MENU}/versions/{earlier}/rollback",
                          data={"csrf_token": token(admin), "reason": "khách phàn nàn"})
    assert response.status_code == 302
    assert menu_path(console_app).read_text() == first
    hotline.menus.check_every_s = 0.0
    assert hotline.menus.current().version == config_versions.sha256_of(first)
    latest = hotline.config_service.versions(MENU)[0]
    assert latest.version_id == earlier and latest.author == "admin"
    assert latest.comment == f"Khôi phục phiên bản {earlier} ({latest.sha256[:12]}): khách phàn nàn"
    with hotline.sessions() as db:
        assert [e.action for e in recent(db) if e.action.startswith("config.")] == \
            ["config.rollback", "config.publish", "config.publish"]


def test_unknown_versions_are_not_found(console_app: Flask, admin: FlaskClient) -> None:
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị")
    assert submit(admin, MENU, text, "publish", comment="một").status_code == 302
    [publication] = console_app.extensions["hotline"].config_service.versions(MENU)
    assert admin.get(f"/admin/config/{MENU}/versions/{publication.version_id + 1}").status_code == 404
    assert admin.get(f"/admin/config/units.yaml/versions/{publication.version_id}").status_code == 404, \
        "a menu version is not a version of units.yaml"
    response = admin.post(f"/admin/config/units.yaml/versions/{publication.version_id}/rollback",
                          data={"csrf_token": token(admin)})
    assert response.status_code == 404


def test_a_call_in_progress_keeps_its_menu_version(console_app: Flask, admin: FlaskClient) -> None:
    service = console_app.extensions["hotline"].service
    old_sid, new_sid = "CA" + "2" * 32, "CA" + "3" * 32
    service.begin(sid=old_sid, caller="+84902222333", to="1022", render=render)
    text = edited(menu_path(console_app).read_text(), "Vui lòng chọn lĩnh vực cần phản ánh.", "Mời chọn lĩnh vực.")
    assert submit(admin, MENU, text, "publish", comment="ngắn gọn").status_code == 302

    heard = service.handle(sid=old_sid, seq=1, event=DigitsPressed("1"), render=render)
    assert heard is not None and "Vui lòng chọn lĩnh vực cần phản ánh." in heard
    service.begin(sid=new_sid, caller="+84903333444", to="1022", render=render)
    heard = service.handle(sid=new_sid, seq=1, event=DigitsPressed("1"), render=render)
    assert heard is not None and "Mời chọn lĩnh vực." in heard


def add_phrase(categories: str, code: str, phrase: str) -> str:
    """categories.yaml with phrase added first among code's phrases."""
    start = categories.index(f"code: {code}\n")
    at = categories.index("    phrases:\n", start) + len("    phrases:\n")
    return categories[:at] + f'      - {{text: "{phrase}", weight: 3}}\n' + categories[at:]


def test_a_categories_publish_changes_understanding(console_app: Flask, admin: FlaskClient) -> None:
    hotline = console_app.extensions["hotline"]
    said = "có con kỳ lân chạy ngoài đường"
    assert hotline.service.understand(said).category == "KHAC"
    path = hotline.settings.config_dir / "categories.yaml"
    response = submit(admin, "categories.yaml", add_phrase(path.read_text(), "CAYXANH", "con kỳ lân"), "publish",
                      comment="thêm cụm từ")
    assert response.status_code == 302
    assert hotline.service.understand(said).category == "CAYXANH"
    assert hotline.understander.understand(said).category == "CAYXANH"


def test_a_catalog_that_breaks_the_menu_is_refused(console_app: Flask, admin: FlaskClient) -> None:
    path = console_app.extensions["hotline"].settings.config_dir / "categories.yaml"
    on_disk = path.read_bytes()
    text = edited(on_disk.decode(), "code: HT_NGAP\n", "code: NGAP\n")
    response = submit(admin, "categories.yaml", text, "publish", comment="đổi mã")
    assert response.status_code == 422
    menu = menu_path(console_app).read_text()
    line = line_of(menu, "set: {category: HT_NGAP}")
    assert any(p.startswith(f"menus/main.yaml, dòng {line}: nodes.report_category.options[0]") and "HT_NGAP" in p
               for p in read_page(response).problems)
    assert path.read_bytes() == on_disk


def test_a_units_publish_stores_the_unit_and_routes_to_it(console_app: Flask, admin: FlaskClient) -> None:
    hotline = console_app.extensions["hotline"]
    path = hotline.settings.config_dir / "units.yaml"
    text = edited(path.read_text(), "units:\n", "units:\n  - code: EVN_MOI\n    name: Điện lực mới\n    kind: power\n")
    text = edited(text, "  power: EVNHCMC\n", "  power: EVN_MOI\n")
    assert submit(admin, "units.yaml", text, "publish", comment="đơn vị mới").status_code == 302
    unit, _deadline = hotline.service.route("DIEN", None, hotline.service.clock())
    assert unit == "EVN_MOI"
    with hotline.sessions() as db:
        stored = db.get(Unit, "EVN_MOI")
        assert stored is not None and stored.active and stored.name == "Điện lực mới"


class Prompts:
    """Stands in for the prompt cache: notes the menus it is asked to render."""

    def __init__(self) -> None:
        self.warmed: list[Menu] = []
        self.done = threading.Event()

    def warm(self, menu: Menu) -> int:
        self.warmed.append(menu)
        self.done.set()
        return 0

    def close(self) -> None:
        pass


def test_a_menu_publish_renders_its_prompts_in_the_background(console_app: Flask, admin: FlaskClient) -> None:
    hotline = console_app.extensions["hotline"]
    hotline.prompts.close()
    hotline.prompts = prompts = Prompts()
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị")
    assert submit(admin, MENU, text, "publish", comment="lời chào").status_code == 302
    assert prompts.done.wait(10)
    assert [menu.version for menu in prompts.warmed] == [config_versions.sha256_of(text)]


@pytest.mark.parametrize("path", ["/admin/config/../app.py", "/admin/config/..%2Fapp.py", "/admin/config/%2Fetc%2Fpasswd",
                                  "/admin/config//etc/passwd", "/admin/config/menus/../../x", "/admin/config/app.py",
                                  "/admin/config/menus/other.yaml", "/admin/config/menus%2F..%2F..%2Fapp.py",
                                  "/admin/config/../app.py/versions", "/admin/config/MENUS/main.yaml"])
def test_path_tricks_are_not_found(admin: FlaskClient, path: str) -> None:
    response = admin.get(path, follow_redirects=True)
    assert response.status_code == 404
    for hop in response.history:  # Werkzeug merges doubled slashes by redirecting within the site
        assert urlsplit(hop.headers["Location"]).path.startswith("/admin/config/")
    posted = admin.post(path, data={"csrf_token": token(admin), "content": "x", "action": "validate"},
                        follow_redirects=True)
    assert posted.status_code in (404, 405)


@pytest.mark.parametrize("user", ["giamsat", "lanhdao", "donvi"])
def test_only_admins_edit_the_config(console_app: Flask, log_in: LogIn, user: str) -> None:
    client = log_in(user)
    csrf = token(client, "/cases")
    for path in ("/admin/config", f"/admin/config/{MENU}", f"/admin/config/{MENU}/versions",
                 "/admin/config/units.yaml/versions/1"):
        assert client.get(path).status_code == 403, path
    text = menu_path(console_app).read_text()
    assert submit(client, MENU, text + "\n", "publish", comment="x", csrf=csrf).status_code == 403
    assert client.post(f"/admin/config/{MENU}/versions/1/rollback", data={"csrf_token": csrf}).status_code == 403
    assert publications(console_app) == 0


def test_a_post_without_the_csrf_token_is_refused(console_app: Flask, admin: FlaskClient) -> None:
    text = edited(menu_path(console_app).read_text(), GREETING, "Kính chào quý vị")
    response = admin.post(f"/admin/config/{MENU}", data={"content": text, "action": "publish", "comment": "x"},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    assert submit(admin, MENU, text, "publish", comment="x", csrf="not-the-token").status_code == 400
    assert publications(console_app) == 0


BILLION_LAUGHS = "\n".join(["name: main", "start: a", 'lol0: &lol0 "lol"']
                           + [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]" for i in range(1, 10)]
                           + ["nodes: *lol9", ""])


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, "name: main\nnodes: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "name: main\nnodes:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 200))])
def test_yaml_bombs_are_refused(console_app: Flask, admin: FlaskClient, bomb: str) -> None:
    response = submit(admin, MENU, bomb, "publish", comment="bom")
    assert response.status_code == 422
    problems = read_page(response).problems
    assert any("anchors and aliases" in p or "maximum depth" in p for p in problems), problems
    assert publications(console_app) == 0


def test_a_text_over_512_kb_is_refused(console_app: Flask, admin: FlaskClient) -> None:
    on_disk = menu_path(console_app).read_bytes()
    padding = "# " + "đ" * 300_000 + "\n"  # 600 KB in UTF-8
    response = submit(admin, MENU, on_disk.decode() + padding, "publish", comment="to")
    assert response.status_code == 413
    [(kind, message)] = read_page(response).flashes
    assert kind == "error" and "512 KB" in message
    assert menu_path(console_app).read_bytes() == on_disk and publications(console_app) == 0

    huge = submit(admin, MENU, "#" * (1024 * 1024 + 1), "publish", comment="to")
    assert huge.status_code == 413 and "Nội dung quá lớn" in huge.get_data(as_text=True)
