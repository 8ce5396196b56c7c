"""Reading TwiML documents as Twilio does: XML with a <Response> root, URLs relative to the document."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urljoin

DOCUMENT_PARSE_FAILURE = 12100


class TwimlError(ValueError):
    """The body is not a TwiML document; code is Twilio's error code."""

    def __init__(self, message: str, code: int = DOCUMENT_PARSE_FAILURE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Document:
    """A TwiML document and the URL it was fetched from (the base for relative URLs)."""

    url: str
    verbs: tuple[ET.Element, ...]

    def resolve(self, ref: str | None) -> str:
        """An absolute URL for `ref` (None or empty means this document's own URL)."""
        return urljoin(self.url, (ref or "").strip())


def parse_document(body: bytes, url: str) -> Document:
    """Parse a webhook reply; raise TwimlError unless it is XML with a <Response> root."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        snippet = body[:60].decode("utf-8", "replace")
        raise TwimlError(f"document parse failure for {url}: {exc} (body starts {snippet!r})") from None
    if root.tag != "Response":
        raise TwimlError(f"document parse failure for {url}: root element is <{root.tag}>, expected <Response>")
    return Document(url, tuple(root))


def text_of(element: ET.Element) -> str:
    """The element's text, including text inside SSML children, trimmed."""
    return "".join(element.itertext()).strip()


def attr_bool(element: ET.Element, name: str, default: bool) -> bool:
    """A true/false attribute; anything else means the default."""
    value = (element.get(name) or "").strip().lower()
    return {"true": True, "false": False}.get(value, default)


def attr_int(element: ET.Element, name: str, default: int | None) -> int | None:
    """A whole-number attribute; absent or malformed means the default."""
    value = element.get(name)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def attr_method(element: ET.Element, name: str = "method") -> str:
    """GET or POST (the default)."""
    return "GET" if (element.get(name) or "").strip().upper() == "GET" else "POST"
