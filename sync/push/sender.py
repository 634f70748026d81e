"""Send a signed push over HTTP with the standard library (no extra dependency)."""

from __future__ import annotations

import urllib.error
import urllib.request

from .outbox import Delivery

TIMEOUT_SECONDS = 10


def http_send(delivery: Delivery) -> int:
    """POST the delivery; return the HTTP status. Network failures raise OSError."""
    request = urllib.request.Request(delivery.url, data=delivery.body, headers=delivery.headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
