"""axe-core for Playwright pages: install the npm package once into a cache, inject, run.

`npm install axe-core@4` runs on first use into AXE_CACHE (default ~/.cache/pingyi-axe) — the
npm registry is reachable from CI and test machines; nothing is fetched when the file is there.
Usage: `assert_accessible(page, "login")` fails listing every serious or critical violation. axe is
injected as a script carrying the page's own CSP nonce, so pages keep their real policy.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_VERSION = "4"
AXE_CACHE = Path(os.environ.get("AXE_CACHE", Path.home() / ".cache" / "pingyi-axe"))
BLOCKING = ("serious", "critical")


@cache
def axe_script() -> Path:
    """Path to axe.min.js, installing the npm package into the cache when it is missing."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                        "--prefix", str(AXE_CACHE), f"axe-core@{AXE_VERSION}"],
                       check=True, timeout=300)
    return script


#: inject axe as a script carrying the page's own CSP nonce (pages allow only nonced code)
INJECT = """source => {
  const nonced = document.querySelector('[nonce]'), script = document.createElement('script');
  if (nonced) script.nonce = nonced.nonce;
  script.textContent = source;
  document.head.appendChild(script);
  return typeof window.axe;
}"""


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """Run axe on the page as it is now; return the violations of the given impacts."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        loaded = page.evaluate(INJECT, axe_script().read_text(encoding="utf-8"))
        assert loaded == "object", ("axe-core did not load: the page has a CSP and no nonced "
                                    "element; open it in a context with bypass_csp=True")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) + " — " + (n.get("failureSummary") or "")
                   .replace("\n", " ")[:160] for n in v["nodes"][:5]]
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(targets))
    return "\n".join(lines)


def assert_accessible(page: Page, where: str) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    found = axe_violations(page)
    assert not found, f"axe-core on {where}:\n{describe(found)}"
