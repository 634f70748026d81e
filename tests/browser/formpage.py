"""Driving the phone form the way a rater does: tap a level per item, pick an identity, submit."""

from __future__ import annotations

from playwright.sync_api import Page

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
