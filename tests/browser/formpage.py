"""Driving the phone form the way a rater does: tap a level per item, pick an identity, submit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page

from sync.models import Campaign, Channel

SEED000_ITEMS = ["efficiency", "attitude", "competence", "conduct", "integrity"]


def tap(page: Page, name: str, value: str) -> None:
    """Tap the visible pill of a radio choice (the input itself is hidden under it)."""
    page.locator(f'label:has(input[name="{name}"][value="{value}"])').click()


def fill(page: Page, level: str = "satisfied", identity: str | None = "enterprise",
         unit: str | None = None, comment: str = "",
         items: list[str] = SEED000_ITEMS) -> None:
    if unit is not None:
        page.select_option('select[name="unit"]', unit)
    for key in items:
        tap(page, f"a.{key}", level)
    if comment:
        page.fill('textarea[name="comment"]', comment)
    if identity:
        tap(page, "identity", identity)


def submit(page: Page) -> None:
    page.click('button[type="submit"]')


def wait_ready(page: Page) -> None:
    page.wait_for_selector("html[data-ready]", state="attached")


def pending(page: Page) -> int:
    return int(page.get_attribute("html", "data-pending") or -1)


def wait_pending(page: Page, count: int, timeout: float = 30_000) -> None:
    """Wait until the phone's queue holds `count` items still to upload."""
    page.wait_for_function(f"() => document.documentElement.dataset.pending === '{count}'",
                           timeout=timeout)


def rate_visit(page: Page, saved_before: int, **answers) -> None:  # type: ignore[no-untyped-def]
    """Fill and submit one rating in visit mode; wait until the phone has it saved."""
    fill(page, **answers)
    submit(page)
    page.wait_for_function(f"() => document.getElementById('n').textContent === '{saved_before + 1}'")


RECORD_STATUS = """document.addEventListener('DOMContentLoaded', () => {
  window.__said = [];
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(
    n => window.__said.push(n.textContent))))
    .observe(document.getElementById('st'), {childList: true});
});"""


def record_status(context) -> None:  # type: ignore[no-untyped-def]
    """Keep every message the status line shows, in order, in window.__said."""
    context.add_init_script(RECORD_STATUS)


def said(page: Page) -> list[str]:
    return page.evaluate("window.__said")


def open_visit_form(live_server, new_context, make_campaign, make_link,  # type: ignore[no-untyped-def]
                    init_script: str | None = None,
                    before_open: Callable[[Page], Any] | None = None,
                    ) -> tuple[Campaign, BrowserContext, Page]:
    """A visit link's form (unit ZF01), open and ready on a phone without a service worker.

    `init_script` runs in the page before the form's own script (to break a browser API);
    `before_open(page)` runs just before the form is loaded (to set the phone's clock).
    """
    campaign = make_campaign()
    _, token = make_link(campaign, ["ZF01"], channel=Channel.VISIT, visit_place="红星村")
    context = new_context(service_workers="block")
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    if before_open:
        before_open(page)
    page.goto(f"{live_server.url}/s/{token}")
    wait_ready(page)
    return campaign, context, page
