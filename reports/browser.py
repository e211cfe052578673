"""Open a report in headless Chromium: collect console errors and take a screenshot.

    python -m reports.browser results/smoke/report/report.html --screenshot shot.png

Talks the DevTools protocol over `--remote-debugging-pipe` (file descriptors 3 and 4,
NUL-separated JSON), which needs nothing but the browser: no driver, no WebSocket
package, no network port. Any request the page makes for something that is not inline
(`data:`) or the file itself counts as an error: the report must open offline.
A tool for checking a finished report, not part of building one: only the tests import
it, and it imports nothing else of `reports`.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.atomic import write_bytes_atomic
from benchmark.errors import EXIT_RUN_FAILED, EXIT_USER_ERROR

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH = 1280


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    height: int = 0


class _Pipe:
    """One DevTools session over the browser's debugging pipe."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int) -> None:
        self.process, self.to_browser, self.from_browser = process, to_browser, from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 30,
    ) -> dict:
        wanted = self.send(method, params, session)
        while True:
            message = self.receive(timeout)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> dict:
        for index, message in enumerate(self.events):
            if message.get("method") == event:
                return self.events.pop(index)
        while True:
            message = self.receive(timeout)
            if message.get("method") == event:
                return message
            self.events.append(message)

    def receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise BrowserError(f"no answer from the browser within {timeout:g} s")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed the debugging pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)


def _high(*fds: int) -> tuple[int, ...]:
    """Move pipe ends above 2..4, so wiring them to 3 and 4 in the child cannot clobber one."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved


def check_page(
    html: Path, screenshot: Path | None = None, chromium: str | None = None
) -> PageCheck:
    """Load `html` headless; return its console errors and outside requests, and shoot it."""
    browser = chromium or find_chromium()
    if browser is None:
        raise BrowserError(f"no Chromium found (looked for {', '.join(CANDIDATES)})")
    url = Path(html).resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryFile() as log:
        cmd_read, cmd_write = _high(*os.pipe())
        out_read, out_write = _high(*os.pipe())

        def wire_pipes() -> None:  # in the child: the browser reads fd 3, writes fd 4
            os.dup2(cmd_read, 3)
            os.dup2(out_write, 4)

        process = subprocess.Popen(
            [
                browser,
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            close_fds=False,
            preexec_fn=wire_pipes,
        )
        os.close(cmd_read)
        os.close(out_write)
        try:
            return _inspect(_Pipe(process, cmd_write, out_read), url, screenshot)
        except (BrowserError, BrokenPipeError) as error:
            log.seek(0)
            said = log.read().decode(errors="replace").strip().splitlines()
            raise BrowserError(
                f"{browser}: {error}; it said: {said[-1] if said else 'nothing'}"
            ) from None
        finally:
            os.close(cmd_write)
            os.close(out_read)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _inspect(pipe: _Pipe, url: str, screenshot: Path | None) -> PageCheck:
    target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.call(f"{domain}.enable", session=session)
    pipe.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    pipe.call("Page.navigate", {"url": url}, session=session)
    pipe.wait_for("Page.loadEventFired", timeout=60)
    check = PageCheck()
    metrics = pipe.call("Page.getLayoutMetrics", session=session)
    check.height = int(metrics["cssContentSize"]["height"])
    if screenshot is not None:
        shot = pipe.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": check.height, "scale": 1},
            },
            session=session,
            timeout=120,
        )
        write_bytes_atomic(Path(screenshot), base64.b64decode(shot["data"]))
    for message in pipe.events:
        _collect(message, url, check)
    pipe.send("Browser.close")
    return check


def _collect(message: dict, url: str, check: PageCheck) -> None:
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        thrown = details.get("exception", {}).get("description")
        check.errors.append(thrown or details.get("text", "exception"))
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        check.errors.append(
            " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
        )
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        check.errors.append(params["entry"].get("text", "error"))
    elif method == "Network.requestWillBeSent":
        requested = params["request"]["url"]
        if not requested.startswith("data:") and requested != url:
            check.requests.append(requested)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open a report headless; report console errors.")
    parser.add_argument("html", type=Path)
    parser.add_argument("--screenshot", type=Path, help="write a full-page PNG here")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        print(f"error: no such file: {args.html}", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        check = check_page(args.html, args.screenshot)
    except BrowserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    for error in check.errors:
        print(f"console error: {error}")
    for request in check.requests:
        print(f"outside request: {request}")
    print(
        f"page height {check.height} px; {len(check.errors)} console errors, "
        f"{len(check.requests)} outside requests"
    )
    return EXIT_RUN_FAILED if check.errors or check.requests else 0


if __name__ == "__main__":
    sys.exit(main())
