"""Headless Chromium for the browser tests (the `chromium` fixture in conftest finds it)."""

from __future__ import annotations

import os
import subprocess


def rendered_dom(browser: str, url: str, home, offline: bool = False) -> str:
    """The DOM of ``url`` after its scripts ran in headless Chromium (no name resolves when ``offline``)."""
    flags = ["--host-resolver-rules=MAP * ~NOTFOUND"] if offline else []
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *flags,
         "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(home)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
