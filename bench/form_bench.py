"""Time to a usable form over emulated slow 3G, against a 1-byte page in the same run.

Chromium's network emulation at the DevTools "3G" preset (400 kbps, 2,000 ms RTT). For each page,
the time from navigation start to DOMContentLoaded, when the form's inline script has run and the
form can be filled and submitted. Rounds alternate the two pages, each in a fresh context (no
cache, no reused connection). Run on demand:

    .venv/bin/python bench/form_bench.py [--rounds 5]

Goal: ratio ≤ 1.15.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector import create_app  # noqa: E402
from collector.extensions import db  # noqa: E402
from sync.campaigns import add_units, create_campaign  # noqa: E402
from sync.links import issue_link, sign_link  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SLOW_3G = {"offline": False, "latency": 2000,
           "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
ONE_BYTE = "/one-byte"


def build_app(store: Path):  # type: ignore[no-untyped-def]
    """An app on a throwaway SQLite store with one campaign; return (app, form path)."""
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{store}",
                      "PUBLIC_BASE_URL": "http://127.0.0.1"})
    with app.app_context():
        db.create_all()
        today = date.today()
        campaign = create_campaign(db.session, "2026年度基层群众评议机关作风", today.year,
                                   "jiguan5",
                                   opens_on=today - timedelta(days=1),
                                   closes_on=today + timedelta(days=30),
                                   supervision_phone="0791-83869993")
        units = add_units(db.session, campaign, {"政府工作部门": [("ZF01", "市场监管局")]})
        link = issue_link(db.session, campaign, units)
        db.session.commit()
        token = sign_link(app.extensions["link_signer"], link)
    return app, f"/s/{token}"


def with_one_byte_page(app):  # type: ignore[no-untyped-def]
    """WSGI: the 1-byte baseline page beside the app, served by the same server."""
    def serve(environ, start_response):  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] == ONE_BYTE:
            start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "1")])
            return [b"x"]
        return app(environ, start_response)
    return serve


def time_to_usable(browser: Browser, url: str, is_form: bool) -> tuple[float, int]:
    """Milliseconds from navigation start to DOMContentLoaded, and bytes received."""
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        if is_form and page.get_attribute("html", "data-ready") != "1":
            raise RuntimeError("the form's script had not run at DOMContentLoaded")
        nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        return nav["domContentLoadedEventEnd"], nav["transferSize"]
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log between the figures
    with tempfile.TemporaryDirectory() as tmp:
        app, form_path = build_app(Path(tmp) / "bench.db")
        server = make_server("127.0.0.1", 0, with_one_byte_page(app), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        times: dict[str, list[float]] = {"form": [], "one-byte": []}
        sizes: dict[str, int] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=CHROMIUM_ARGS)
                for _ in range(args.rounds):
                    for name, path in (("one-byte", ONE_BYTE), ("form", form_path)):
                        ms, size = time_to_usable(browser, base + path, name == "form")
                        times[name].append(ms)
                        sizes[name] = size
                browser.close()
        finally:
            server.shutdown()
    form, baseline = statistics.median(times["form"]), statistics.median(times["one-byte"])
    print("network: 400 kbps down/up, 2000 ms RTT (DevTools 3G preset); median of "
          f"{args.rounds} rounds, navigation start -> DOMContentLoaded")
    print(f"1-byte page : {baseline:8.0f} ms  ({sizes['one-byte']} bytes transferred)")
    print(f"form page   : {form:8.0f} ms  ({sizes['form']} bytes transferred)")
    print(f"ratio       : {form / baseline:8.3f}  (goal <= 1.15)")


if __name__ == "__main__":
    main()
