"""Gzip the form's responses ourselves: the default deployment (gunicorn alone) has no proxy."""

from __future__ import annotations

import gzip

from flask import Response, request

#: below this, gzip's header costs more than it saves
MIN_SIZE = 256
COMPRESSIBLE = ("text/", "application/javascript", "application/json",
                "application/manifest+json")


def gzip_response(response: Response) -> Response:
    """Compress a text response when the client accepts gzip (an after_request hook)."""
    response.vary.add("Accept-Encoding")
    if (response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers
            or not (response.mimetype or "").startswith(COMPRESSIBLE)
            or request.accept_encodings["gzip"] <= 0):
        return response
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    # mtime=0: the same page gives the same bytes, so ETags and size checks are stable
    response.set_data(gzip.compress(data, compresslevel=9, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    return response
