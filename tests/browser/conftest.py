"""Browser fixtures: the app served live on loopback, a fault injector, headless Chromium."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext
from werkzeug.serving import make_server

SYNC_PATH = "/api/v1/sync"
PHONE = {"width": 375, "height": 667}

#: faults the injector can play on the next uploads
FAIL_BEFORE = "500 before storing"
FAIL_AFTER = "500 after storing"
DROP_AFTER = "drop the connection after storing"
PORTAL = "a captive portal's 200 page instead of the API"
#: a JSON refusal not about the items, as the app answers a path it does not serve (a deploy
#: in progress, a proxy routing to the wrong place): "json 404", "json 403", …
REFUSE = "json {}"
STALL_AFTER = "store, send the answer's headers, then stall its body (a weak signal)"


class FaultInjector:
    """WSGI middleware: logs every request and breaks the next uploads as planned."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self.sync_bodies: list[dict] = []
        self._plan: list[str] = []
        self._poison: bytes | None = None
        self.poisoned = 0
        self._lock = threading.Lock()
        #: set to let every stalled answer finish (the fixture sets it when the test ends)
        self.unstall = threading.Event()

    def fail_next_uploads(self, fault: str, times: int = 1) -> None:
        with self._lock:
            self._plan.extend([fault] * times)

    def fail_batches_containing(self, marker: str) -> None:
        """Answer 500 to every upload whose body contains `marker` (a server bug one item hits)."""
        self._poison = marker.encode()

    @property
    def faults_left(self) -> int:
        with self._lock:
            return len(self._plan)

    def paths(self, method: str = "GET") -> list[str]:
        return [path for m, path in self.requests if m == method]

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        self.requests.append((environ["REQUEST_METHOD"], path))
        fault = None
        if path == SYNC_PATH and environ["REQUEST_METHOD"] == "POST":
            with self._lock:
                fault = self._plan.pop(0) if self._plan else None
            if self._poison is not None:
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                if self._poison in body:
                    self.poisoned += 1
                    fault = FAIL_BEFORE
        if fault == FAIL_BEFORE:
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b'{"error": "injected failure"}']
        if fault and fault.startswith("json "):
            status = int(fault[5:])
            start_response(f"{status} REFUSED", [("Content-Type", "application/json")])
            return [json.dumps({"error": "页面不存在。"}, ensure_ascii=False).encode()]
        if fault == PORTAL:
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return ["<html><body>请先登录免费 WiFi</body></html>".encode()]
        if fault is None:
            return self.app(environ, start_response)

        # Let the app store the batch in full, then lose its answer on the way back.
        def swallow(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
            return lambda data: None

        answer = self.app(environ, swallow)
        try:
            body = b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()
        self.sync_bodies.append(json.loads(body))
        if fault == FAIL_AFTER:
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b'{"error": "injected failure"}']
        if fault == STALL_AFTER:
            start_response("200 OK", [("Content-Type", "application/json")])
            return self._stalled(body)
        # DROP_AFTER: close the socket under werkzeug; its write then fails and it moves on.
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


    def _stalled(self, body: bytes) -> Iterator[bytes]:
        yield b" "  # the headers and a first byte go out (JSON allows leading blanks) ...
        self.unstall.wait(120)  # ... and the rest does not come while the test runs
        yield body


class LiveServer:
    def __init__(self, url: str, faults: FaultInjector) -> None:
        self.url = url
        self.faults = faults


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """Serve the test app (same store as `session`) on a free loopback port in a thread."""
    faults = FaultInjector(app.wsgi_app)
    app.wsgi_app = faults  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", faults)
    finally:
        faults.unstall.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def new_context(browser):  # type: ignore[no-untyped-def]
    """Factory: a fresh phone-sized browser context (own storage), closed after the test.

    The pages' Content-Security-Policy is enforced (no bypass_csp), and any violation Chromium
    reports fails the test. Poll with wait_for_function("() => …"): a bare expression string is
    run through eval, which the policy forbids.
    """
    made: list[BrowserContext] = []
    violations: list[str] = []

    def make(**options) -> BrowserContext:  # type: ignore[no-untyped-def]
        options.setdefault("viewport", PHONE)
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(**options)
        context.set_default_timeout(20_000)
        context.on("console", lambda m: violations.append(m.text)
                   if "Content Security Policy" in m.text else None)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    assert violations == [], violations
