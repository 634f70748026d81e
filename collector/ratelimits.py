"""Rate limits of the public endpoints (Flask-Limiter; counters in RATELIMIT_STORAGE_URI).

Sync is limited per device id (tight) and, because the device id is chosen by the client, per
address as well (generous: a village or a meeting hall shares one address behind NAT). Form
pages and short links are limited per address, and a failed look-up (an unknown, forged or
revoked link: someone guessing) costs FAILED_LOOKUP_COST hits instead of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage
from werkzeug.exceptions import BadRequest

from .extensions import limiter

FAILED_LOOKUP_COST = 10
#: answers that mean "no such link" (LinkError and unknown short codes), not a bad submission
FAILED_LOOKUP_STATUSES = frozenset({400, 403, 404, 410})
MAX_DEVICE_ID = 64
COST_KEY = "pingyi.form_request_cost"  # per request (the WSGI environ), unlike flask.g


class SweptMemoryStorage(MemoryStorage):
    """limits' per-process memory storage (RATELIMIT_STORAGE_URI=pingyi-memory://, the default)
    with its expired-entry sweep run once a second instead of every 10 ms.

    MemoryStorage restarts a 10 ms timer thread whenever the last one has finished, so under
    steady traffic every few requests start a thread and wait for it to get the GIL: the
    largest single cost of a one-rating sync. The sweep only frees memory (every check compares
    the entries' own timestamps), so the limits stay exact.
    """

    STORAGE_SCHEME = ["pingyi-memory"]
    SWEEP_SECONDS = 1.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # MemoryStorage's private hook
        if not self.timer.is_alive():
            self.timer = threading.Timer(self.SWEEP_SECONDS,
                                         self._MemoryStorage__expire_events)  # type: ignore
            self.timer.daemon = True  # never holds a stopping worker
            self.timer.start()


def sync_device_key() -> str:
    """The device id the batch names; without a usable one, the sender's address."""
    try:
        body = request.get_json(force=True)  # parsed as the view parses it: cached for it
    except (BadRequest, RecursionError):  # not JSON, or absurdly deep: the view answers 400
        body = None
    device = body.get("device_id") if isinstance(body, dict) else None
    if isinstance(device, str) and 0 < len(device) <= MAX_DEVICE_ID:
        return f"device:{device}"
    return f"address:{get_remote_address()}"


def _count_form_request(response: Response) -> bool:
    """Every form request counts; note how much, for `_form_request_cost` (called next)."""
    failed = response.status_code in FAILED_LOOKUP_STATUSES
    request.environ[COST_KEY] = FAILED_LOOKUP_COST if failed else 1
    return True


def _form_request_cost() -> int:
    # Before the request (the check) a request costs 1; after it, what it turned out to be.
    return request.environ.get(COST_KEY, 1)


def _not_refused(response: Response) -> bool:
    """A request refused with 429 (by the device limit, say) does not use the address's budget:
    one phone hammering must not lock out the rest of its village."""
    return response.status_code != 429


def limit_sync(view: Callable[..., Any]) -> Callable[..., Any]:
    """Limit sync per device id (SYNC_RATE_LIMIT) and per address (ADDRESS_RATE_LIMIT)."""
    per_device = limiter.limit(lambda: current_app.config["SYNC_RATE_LIMIT"],
                               key_func=sync_device_key, scope="sync-device")
    per_address = limiter.limit(lambda: current_app.config["ADDRESS_RATE_LIMIT"],
                                key_func=get_remote_address, scope="sync-address",
                                deduct_when=_not_refused)
    return per_address(per_device(view))


#: One budget per address shared by every page that looks a link up (/s/, /q/, the forms API),
#: so a guesser gains nothing by spreading tries over them; failed look-ups cost more.
limit_form = limiter.shared_limit(lambda: current_app.config["FORM_RATE_LIMIT"],
                                  scope="public-form", key_func=get_remote_address,
                                  deduct_when=_count_form_request, cost=_form_request_cost)
