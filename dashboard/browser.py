"""Serve the dashboard and drive Debian's headless chromium: shared by the browser test
(tests/python/test_dashboard_browser.py) and the screenshots (dashboard/screenshots.py).

Chromium is Debian's (`make browser` installs packages chromium and chromium-driver):
selenium talks to /usr/bin/chromedriver, and nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from dashboard.sitemap import HOST
from warehouse import settings

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = settings.current().chromium
CHROMEDRIVER = settings.current().chromedriver
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def missing_browser() -> str | None:
    """Why the browser cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (path.exists() and os.access(path, os.X_OK)):
            return (
                f"{path} not found: install Debian's {package} "
                "(`make browser`, as root or with sudo)"
            )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    def url(self, path: str = "") -> str:
        return f"http://{HOST}:{self.port}/{path}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@contextmanager
def serve(
    warehouse: Path,
    port: int | None = None,
    log_dir: Path | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[Server]:
    """`streamlit run dashboard/app.py` on 127.0.0.1:port against `warehouse`, stopped on exit."""
    port = port or free_port()
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="dashboard_"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"streamlit_{port}.log"
    env = dict(os.environ, EXCHANGE_WAREHOUSE=str(warehouse))
    streamlit = Path(sys.executable).parent / "streamlit"
    command = [
        str(streamlit),
        "run",
        str(REPO / "dashboard" / "app.py"),
        "--server.address",
        HOST,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with {process.returncode}:\n{server.log_tail()}"
                )
            try:
                if httpx.get(server.url("_stcore/health"), timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit did not answer on port {port} within "
                    f"{startup_timeout:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator:
    """A selenium WebDriver on Debian's headless chromium with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = missing_browser()
    if reason:
        raise RuntimeError(reason)
    profile = tempfile.mkdtemp(prefix="chromium_profile_")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# The app has finished its script run and the page's title is up.
_PAGE_STATE = """
const app = document.querySelector('[data-testid="stApp"]');
return {
  state: app ? app.getAttribute('data-test-script-state') : null,
  title: Array.from(document.querySelectorAll('h1')).map(e => e.innerText.trim()),
  metrics: Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
      (m.querySelector('[data-testid="stMetricLabel"]') || {innerText: ''}).innerText.trim(),
      (m.querySelector('[data-testid="stMetricValue"]') || {innerText: ''}).innerText.trim()]),
  exceptions: Array.from(document.querySelectorAll('[data-testid="stException"]'))
      .map(e => e.innerText),
  errors: Array.from(document.querySelectorAll(
      '[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]'))
      .map(e => e.innerText),
  dialogs: Array.from(document.querySelectorAll('[role="dialog"]')).map(e => e.innerText),
  skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
};
"""


@dataclass
class RenderedPage:
    url: str
    title: list[str]
    metrics: dict[str, str]
    exceptions: list[str]
    errors: list[str]
    seconds: float


def open_page(
    driver, url: str, title: str, timeout: float = 45.0, settle: float = 0.5
) -> RenderedPage:
    """Load `url` and wait until the script run is over and `title` is shown (or an
    exception or error is): what the page shows then."""
    started = time.monotonic()
    driver.get(url)
    deadline = started + timeout
    last = None
    while time.monotonic() < deadline:
        state = driver.execute_script(_PAGE_STATE)
        done = state["state"] == "notRunning" and not state["skeletons"]
        if done and (
            title in state["title"] or state["exceptions"] or state["errors"] or state["dialogs"]
        ):
            # One more look after a pause: a rerun may have started right after the first.
            time.sleep(settle)
            again = driver.execute_script(_PAGE_STATE)
            if again["state"] == "notRunning":
                last = again
                break
        time.sleep(0.2)
    else:
        last = driver.execute_script(_PAGE_STATE)
        raise TimeoutError(f"{url} did not finish rendering {title!r} in {timeout:.0f} s: {last}")
    # A dialog is Streamlit's own complaint, such as "Page not found".
    return RenderedPage(
        url,
        last["title"],
        dict(last["metrics"]),
        last["exceptions"],
        last["errors"] + last["dialogs"],
        time.monotonic() - started,
    )
