"""The end-to-end fixtures (a real app, server, database and emulated Twilio), shared with tests/e2e."""

from tests.e2e.conftest import app, make_app, phone, server, settings, synthesizer  # noqa: F401
