"""Helpers for the case list and case page tests: filing cases, reading pages, who belongs to which unit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from storage.cases import file_case
from storage.models import AuditEvent, Case, User

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 7, 1, 9, 30, tzinfo=LOCAL)

FileCase = Callable[..., Case]


def case_filer(console_app: Flask) -> FileCase:
    """Files a case through storage.cases.file_case (committed); keyword arguments override the defaults."""

    def file(**overrides: Any) -> Case:
        fields: dict[str, Any] = {
            "call_id": None, "caller_number": "+84901234567", "status": "new", "category": "HT_NGAP",
            "description": "Đường ngập sâu sau mưa", "address_text": "12 Nguyễn Huệ", "unit_code": None,
            "deadline": None, "now": NOW, "ward": "Phường Sài Gòn", "ward_code": "26740",
        }
        fields.update(overrides)
        with console_app.extensions["hotline"].sessions.begin() as db:
            return file_case(db, **fields)

    return file


def unit_of(app: Flask, username: str) -> str:
    """The unit code of a unit user."""
    with app.extensions["hotline"].sessions() as db:
        unit = db.scalar(select(User.unit_code).where(User.username == username))
    assert unit is not None
    return unit


def stored(app: Flask, number: str) -> Case:
    """The case as stored now, its events loaded."""
    with app.extensions["hotline"].sessions() as db:
        case = db.scalars(select(Case).where(Case.number == number)).one()
        _ = list(case.events)
        return case


def audits(app: Flask, action: str) -> list[AuditEvent]:
    with app.extensions["hotline"].sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


class Page(HTMLParser):
    """What the tests read from a page: listed case numbers, links by rel or id, POST forms, flashes, select options."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.numbers: list[str] = []
        self.links: dict[str, str] = {}
        self.forms: list[str] = []
        self.flashes: list[str] = []
        self.options: dict[str, list[str]] = {}
        self.text = ""
        self._in_flash = False
        self._select: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "tr" and attributes.get("data-number"):
            self.numbers.append(attributes["data-number"])
        if tag == "a" and (attributes.get("rel") or attributes.get("id")):
            self.links[attributes.get("rel") or attributes["id"]] = attributes["href"]
        if tag == "form" and attributes.get("method") == "post":
            self.forms.append(attributes.get("action", ""))
        if tag == "select":
            self._select = self.options.setdefault(attributes.get("name", ""), [])
        if tag == "option" and "value" in attributes:
            self._select.append(attributes["value"])
        self._in_flash = tag == "p" and "flash" in attributes.get("class", "").split()
        if self._in_flash:
            self.flashes.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_flash = False

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._in_flash:
            self.flashes[-1] += data


def page(client: FlaskClient, path: str, **query: str) -> Page:
    """GET path (200 expected; it may carry its own query) and parse it."""
    reply = client.get(path, query_string=query or None)
    assert reply.status_code == 200, (path, query, reply.status_code)
    return Page(reply.get_data(as_text=True))
