"""A real headless Chromium (Debian's package) driven by Playwright, for the dashboard tests.

Playwright never downloads a browser here: it launches `/usr/bin/chromium` (`apt-get install
chromium`; `.ci/run` installs it) with the flags this kind of machine needs and a fresh profile.
Where that browser is missing the test fails and says how to get it, rather than skipping.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: What this machine needs: no sandbox as root, no GPU (and no software rasterizer, without which
#: Chromium 156 here never paints a frame, so Playwright's actionability checks wait forever).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-software-rasterizer",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page() -> Iterator[Any]:
    """One page of a fresh headless Chromium; fails with what is missing when it cannot start."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (`apt-get install chromium`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: `make install` installs the dev group (playwright)")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as playwright:
            # Playwright gives a persistent context the profile folder (--user-data-dir) itself.
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=FLAGS,
                viewport={"width": 1400, "height": 900},
            )
            try:
                yield context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
