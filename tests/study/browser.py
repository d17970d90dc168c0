"""Open an HTML file in headless Chromium (Debian's ``chromium``) the way a person would, and report what the page
did: the DOM after loading, every console message, and for each image whether it decoded (``naturalWidth``).

The page is copied with one inline script added before ``</body>`` that, on the load event, writes each image's
``[complete, naturalWidth]`` into ``<body data-images="...">``; ``--dump-dom`` prints the DOM after that event.
Console messages (errors, failed loads, uncaught exceptions) come from Chromium's log on stderr
(``--enable-logging=stderr --v=0``: lines with ``CONSOLE``). No network, no extra Python package.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
PROBE = (
    '<script>window.addEventListener("load", function () {'
    "var imgs = Array.prototype.slice.call(document.images);"
    'document.body.setAttribute("data-images", JSON.stringify(imgs.map(function (i) {'
    "return [i.complete, i.naturalWidth]; })));});</script>"
)


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageLoad:
    dom: str  # the DOM after the load event
    console: list[str]  # console messages (any level), one line each
    images: list[tuple[bool, int]]  # per <img>: (complete, naturalWidth)


def load_page(page: Path, tmp: Path, timeout: float = 120.0) -> PageLoad:
    """Load ``page`` (a copy with the image probe) in headless Chromium; see the module docstring."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed")
    text = page.read_text()
    if "</body>" not in text:
        raise ValueError(f"{page} has no </body>")
    probe_page = tmp / f"probed_{page.name}"
    probe_page.write_text(text.replace("</body>", PROBE + "</body>", 1))
    profile = tmp / "chromium-profile"
    proc = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", probe_page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"chromium failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    console = [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(\]]", line)]
    found = re.search(r'<body[^>]*\sdata-images="([^"]*)"', proc.stdout)
    images = [tuple(x) for x in json.loads(html.unescape(found.group(1)))] if found else []
    return PageLoad(proc.stdout, console, images)  # type: ignore[arg-type]
