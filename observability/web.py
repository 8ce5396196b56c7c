"""Flask wiring of logs and metrics: the call's id for a webhook's log lines, latency, 5xx, and /metrics."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from flask import Flask, Response, g, request

from observability.logs import CALL_SID, STREAM_SID
from observability.metrics import exposition, metrics

CARRIER_BLUEPRINT = "twilio"


def instrument(app: Flask, *, metrics_token: str | None, spool_pending: Callable[[], int]) -> None:
    """Log context and timing for the carrier's webhooks, 5xx counting for every page, and GET /metrics.

    metrics_token: when set, /metrics wants `Authorization: Bearer <token>`; else it is public (no
    caller data is in it) and the proxy in front should keep it from the internet.
    """

    @app.before_request
    def bind_call() -> None:
        if request.blueprint == CARRIER_BLUEPRINT:
            g.hotline_began = time.perf_counter()
            CALL_SID.set(request.form.get("CallSid") if request.method == "POST" else None)

    @app.after_request
    def count(response: Response) -> Response:
        if response.status_code >= 500:
            metrics().error("http_5xx")
        began = g.pop("hotline_began", None)
        if began is not None:
            metrics().webhook_duration.labels(request.endpoint or "unknown").observe(time.perf_counter() - began)
        return response

    @app.teardown_request
    def unbind_call(error: BaseException | None) -> None:
        CALL_SID.set(None)  # the thread serves other requests next
        STREAM_SID.set(None)

    @app.get("/metrics")
    def metrics_page() -> Response:
        if metrics_token and not _bearer_matches(metrics_token):
            return Response("bearer token required\n", status=401, mimetype="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        metrics().spool_pending.set(spool_pending())
        body, content_type = exposition(request.headers.get("Accept"))
        return Response(body, content_type=content_type)


def _bearer_matches(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
