"""A class bigger than one process: four browser sessions through nginx over two replicas.

`python -m deploy.class_server --replicas 2` (what `make class` runs) starts two Streamlit
processes and nginx. Four tabs, each a browser context of its own (a cookie-less profile, like
four students' laptops), open the class's one address and press Train at the same moment.
Each must train end to end over one WebSocket that never dropped, and the four must have been
spread over both replicas: read from each tab's affinity cookie and, independently, from
nginx's access log, where every WebSocket is logged when it closes with the replica it was
proxied to. The replicas' and nginx's logs are kept in test-artifacts/browser/replicas/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy import class_server, nginx_config  # noqa: E402

LOG_DIR = harness.ARTIFACTS / "replicas"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"  # as conftest.py: CI fails, never skips
EPOCHS = 1000
STUDENTS = [
    {"topology": "one_to_one", "seed": "21", "epochs": str(EPOCHS)},
    {"topology": "many_to_one", "seed": "22", "epochs": str(EPOCHS)},
    {"topology": "one_to_one", "seed": "23", "epochs": str(EPOCHS)},
    {"topology": "many_to_one", "seed": "24", "epochs": str(EPOCHS)},
]


class ClassFront:
    """The class's one address, shaped like harness.AppServer for the `tabs` fixture: its log
    is every replica's log (a traceback in any of them fails the test)."""

    def __init__(self, status: dict):
        self.status = status
        self.port = status["port"]
        self.replica_logs = {
            replica["name"]: harness.AppServer(name=replica["name"], log_path=Path(replica["log"]))
            for replica in status["replicas"]
        }

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/", **query) -> str:
        return harness.AppServer.url(self, path, **query)

    def log_size(self) -> dict[str, int]:
        return {name: log.log_size() for name, log in self.replica_logs.items()}

    def log_errors(self, since: dict[str, int] | int = 0) -> list[str]:
        marks = since if isinstance(since, dict) else {}
        return [f"{name}: {error}" for name, log in self.replica_logs.items() for error in log.log_errors(marks.get(name, 0))]


@pytest.fixture
def classroom(request, browser):
    reason = None if class_server.find_nginx() else "nginx is not installed (`apt-get install nginx`)"
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true, so this test must run, but: {reason}", pytrace=False)
        pytest.skip(reason)
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    port = class_server.free_ports(1)[0]
    output = open(harness.ARTIFACTS / "replicas-launcher.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.class_server", "--replicas", "2", "--port", str(port),
         "--address", "127.0.0.1", "--log-dir", str(LOG_DIR)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
    )

    def stop():
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        output.close()

    request.addfinalizer(stop)
    status_path = LOG_DIR / "class.json"
    deadline = time.monotonic() + 90
    while not status_path.exists():
        assert process.poll() is None and time.monotonic() < deadline, (
            f"the class never got ready:\n{(harness.ARTIFACTS / 'replicas-launcher.log').read_text(errors='replace')}"
        )
        time.sleep(0.1)
    time.sleep(0.05)
    front = ClassFront(json.loads(status_path.read_text()))
    _prime_replicas(front)
    # The priming sessions' WebSockets are logged when they close; the test counts from here.
    deadline = time.monotonic() + 10
    while len(_websocket_log_lines(front)) < len(front.status["replicas"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    front.websockets_before = len(_websocket_log_lines(front))
    front.stop = stop
    return front


def _prime_replicas(front: ClassFront) -> None:
    """One headless session per replica (deploy/session_client.py, through nginx with that
    replica's cookie) presses Train, both at once: TensorFlow is loaded and running in each
    process before the tabs open, so the test times the class, not the imports."""
    import asyncio
    import concurrent.futures

    from deploy.session_client import train_once

    async def both():
        return await asyncio.gather(*(train_once(front.origin, {}, replica=replica["name"])
                                      for replica in front.status["replicas"]))

    # In a thread of its own: Playwright's sync API already runs an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        outcomes = pool.submit(asyncio.run, both()).result(timeout=120)
    for outcome in outcomes:
        assert not outcome["errors"], outcome
        assert any(title.startswith("Target vs prediction") for title in outcome["charts"]), outcome


def _websocket_log_lines(front: ClassFront, skip: int = 0) -> list[dict]:
    """nginx's access-log lines for /_stcore/stream (written when a WebSocket closes), after the
    first `skip` of them."""
    lines = []
    for line in Path(front.status["access_log"]).read_text().splitlines():
        if '"GET /_stcore/stream ' not in line:
            continue
        fields = dict(re.findall(r"(\w+)=(\S*)", line.split('"', 2)[2]))
        fields["status"] = line.split('"', 2)[2].split()[0]
        lines.append(fields)
    return lines[skip:]


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_four_sessions_spread_over_two_replicas_each_train_over_one_websocket(classroom, tabs):
    started = time.perf_counter()
    pages = []
    for settings in STUDENTS:
        page = tabs.open(classroom, "/", **settings)
        harness.wait_for_controls(page)
        pages.append(page)
    for page, settings in zip(pages, STUDENTS):
        harness.wait_for_query(page, settings)
    replicas = []
    for page in pages:
        cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
        replicas.append(cookies.get(nginx_config.COOKIE))
    assert set(replicas) == {"r0", "r1"}, f"the four sessions were not spread over both replicas: {replicas}"

    for page in pages:
        harness.main_button(page, "Train").click(no_wait_after=True)
    pressed = time.perf_counter()
    for index, page in enumerate(pages):
        harness.wait_for_text(page, re.compile(rf"epoch {EPOCHS:,} / {EPOCHS:,} · loss"), timeout=90_000)
        harness.wait_until_idle(page)
        harness.wait_for_figures(
            page,
            "(figures, _, titleOf) => figures.some(f => titleOf(f).startsWith('Target vs prediction')) && "
            "figures.some(f => titleOf(f).startsWith('Training loss') && f.traces.length > 0 && f.traces[0].y.length > 0)",
        )
        harness.screenshot(page, f"replicas-tab{index + 1}-{replicas[index]}")
    trained_s = time.perf_counter() - pressed

    # No WebSocket dropped: each tab opened exactly one (Streamlit reconnects with a new one
    # after a drop), and nginx logged none closing while the tabs were open.
    for index, (page, watch, _) in enumerate(tabs.opened):
        streams = [url for url in watch.requests if url.endswith("/_stcore/stream")]
        assert len(streams) == 1, f"tab {index + 1} opened {len(streams)} WebSockets: {streams}"
    assert _websocket_log_lines(classroom, classroom.websockets_before) == [], "a WebSocket through nginx closed while its tab was open"
    tabs.assert_clean()

    # Closing the tabs closes the WebSockets: nginx logs each with the replica it went to, which
    # must be the replica named by that tab's cookie.
    for page in pages:
        page.context.close()
    deadline = time.monotonic() + 10
    while len(_websocket_log_lines(classroom, classroom.websockets_before)) < len(pages) and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = _websocket_log_lines(classroom, classroom.websockets_before)
    assert len(logged) == len(pages), logged
    assert all(line["status"] == "101" for line in logged), logged
    assert sorted(line["replica"] for line in logged) == sorted(replicas), (logged, replicas)
    assert all(line["cookie"] == line["replica"] for line in logged), logged
    print(f"\n4 sessions over {sorted(set(replicas))}: all trained {trained_s:.1f} s after Train; "
          f"test body {time.perf_counter() - started:.1f} s")
