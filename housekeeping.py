"""Each process's housekeeping thread: what must happen even when no request comes in.

Every 2 s until the app closes: write and load what another node published (decision 24), replay
the spool once the database answers again (decision 27), retry transcripts the database refused;
every minute, end the calls nothing has been heard of for HOTLINE_IDLE_CALL_MINUTES (decision 28).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Flask

from ivr.calls import StoreUnavailable

if TYPE_CHECKING:
    from app import Hotline

log = logging.getLogger("hotline.housekeeping")
IDLE_SWEEP_EVERY_S = 60.0


def keep_house(hotline: Hotline, app: Flask) -> None:
    """Run the chores until hotline.stopping is set (the body of the housekeeping thread)."""
    idle_for = timedelta(minutes=hotline.settings.idle_call_minutes)
    next_sweep = time.monotonic() + IDLE_SWEEP_EVERY_S * random.random()  # nodes started together spread out
    while not hotline.stopping.wait(max(0.5, hotline.config_service.check_every_s)):
        chores: list[tuple[str, Callable[[], object]]] = [("following config publications",
                                                            hotline.config_service.sync_from_database)]
        if hotline.spool.pending():
            chores.append(("replaying the spool", lambda: hotline.replay_spool(app)))
        elif hotline.transcriber.has_failed:
            chores.append(("transcribing again", hotline.transcriber.retry_failed))
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + IDLE_SWEEP_EVERY_S
            chores.append(("ending idle calls", lambda: end_idle_calls(hotline, idle_for)))
        for what, chore in chores:
            try:
                chore()
            except StoreUnavailable:
                log.warning("%s: the database is unavailable; trying again shortly", what)
            except Exception:  # housekeeping must outlive any one bad round
                log.exception("%s failed", what)


def end_idle_calls(hotline: Hotline, idle_for: timedelta) -> list[int]:
    """End the calls nothing has been heard of for idle_for; after-call work runs for each. Their ids."""
    ended = hotline.service.end_idle(idle_for)
    for call_id in ended:
        log.warning("call %s ended after %s without news from the carrier", call_id, idle_for)
        if hotline.webhooks.on_ended is not None:
            hotline.webhooks.on_ended(call_id)
    return ended
