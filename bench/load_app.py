"""The app as gunicorn serves it, plus a bare JSON route: the baseline of bench/load_bench.py.

    gunicorn --chdir bench 'load_app:create()'
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify, request  # noqa: E402

from collector import create_app  # noqa: E402
from collector.extensions import csrf  # noqa: E402


def create() -> Flask:
    app = create_app()

    @app.post("/bench/bare")
    @csrf.exempt
    def bare():  # type: ignore[no-untyped-def]
        """Parse the same JSON body and answer JSON, touching no store."""
        body = request.get_json(force=True)
        return jsonify({"results": [{"id": r.get("id"), "status": "stored"}
                                    for r in body.get("responses", [])]})

    return app
