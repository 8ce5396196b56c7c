"""Shared fixtures for the dialogue-core tests: the shipped menu and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.menu import Menu, load_menu
from config.settings import DEFAULT_MENU_DIR


@pytest.fixture(scope="session")
def menu() -> Menu:
    """The shipped default menu, config/menus/main.yaml."""
    return load_menu(DEFAULT_MENU_DIR / "main.yaml")


@pytest.fixture()
def now() -> datetime:
    """A fixed moment; the engine must not depend on it."""
    return datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
