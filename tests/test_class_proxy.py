"""`make class` through its front door: nginx in front of real Streamlit replicas, no browser.

The module starts `python -m deploy.class_server --replicas 2` (the script `make class` runs)
once and talks HTTP to nginx and, for contrast, straight to a replica: the proxy must keep a
browser on one replica (cookie affinity, WebSocket included), refuse forged Host names and
cross-site WebSockets that a bare replica accepts, hide /_stcore/metrics that a bare replica
serves, and cap the upload endpoint's body size and rate per client. Without nginx these tests
skip, unless CI=true, where a missing nginx fails them (as the browser tests do for Chromium).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy import class_server, nginx_config

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
NGINX = class_server.find_nginx()


def run_in_own_loop(make_coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests, when they
    run first in the same pytest process) keeps an event loop running in the main thread."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def _need_nginx() -> str:
    if NGINX is None:
        reason = "nginx is not installed (`apt-get install nginx`; .ci/run does)"
        if IN_CI:
            pytest.fail(f"CI=true, so the proxy tests must run, but: {reason}", pytrace=False)
        pytest.skip(reason)
    return NGINX


# --------------------------------------------------------------------------------------------
# Running the launcher


@dataclasses.dataclass
class Launched:
    process: subprocess.Popen
    status: dict
    output_path: Path

    @property
    def port(self) -> int:
        return self.status["port"]

    def replica(self, name: str) -> dict:
        return next(replica for replica in self.status["replicas"] if replica["name"] == name)

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")


def launch(tmp_path: Path, replicas: int) -> Launched:
    """Start the launcher on a free port of 127.0.0.1 and wait for its ready status file."""
    port = class_server.free_ports(1)[0]
    log_dir = tmp_path / "logs"
    output_path = tmp_path / "launcher.out"
    with open(output_path, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.class_server", "--replicas", str(replicas), "--port", str(port),
             "--address", "127.0.0.1", "--log-dir", str(log_dir)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )
    status_path = log_dir / "class.json"
    deadline = time.monotonic() + 90
    while not status_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the launcher never got ready:\n{output_path.read_text(errors='replace')}")
        time.sleep(0.1)
    time.sleep(0.05)  # the file is written in one call; let it land
    return Launched(process, json.loads(status_path.read_text()), output_path)


def stop(launched: Launched, how: int = signal.SIGTERM) -> int:
    if launched.process.poll() is None:
        launched.process.send_signal(how)
    try:
        return launched.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        launched.process.kill()
        raise


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    _need_nginx()
    launched = launch(tmp_path_factory.mktemp("class"), replicas=2)
    yield launched
    assert stop(launched) == 0, launched.output()


# --------------------------------------------------------------------------------------------
# Talking HTTP with exact headers (urllib would fill in Host and refuse an upgrade)


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes


def ask(port: int, path: str = "/", method: str = "GET", headers: dict | None = None, body: bytes | None = None,
        host: str | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        payload = b"" if response.status == 101 else response.read()
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.headers.get_all("Set-Cookie") or [],
            payload,
        )
    finally:
        connection.close()


def websocket_headers(origin: str | None, cookie: str | None = None) -> dict[str, str]:
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Protocol": "streamlit",
    }
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = cookie
    return headers


def replica_cookie(answer: Answer) -> str | None:
    for cookie in answer.cookies:
        name, _, rest = cookie.partition("=")
        if name.strip() == nginx_config.COOKIE:
            return rest.split(";")[0]
    return None


# --------------------------------------------------------------------------------------------
# The configuration itself


def _nginx_t(tmp_path: Path, plan: nginx_config.ProxyPlan) -> subprocess.CompletedProcess:
    config = tmp_path / "nginx.conf"
    config.write_text(nginx_config.render(plan))
    return subprocess.run([_need_nginx(), "-t", "-p", str(tmp_path), "-c", str(config), "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("replicas", [1, 2, 5])
def test_generated_config_passes_nginx_t(tmp_path, replicas):
    plan = nginx_config.ProxyPlan(
        replicas=tuple(f"127.0.0.1:{18600 + index}" for index in range(replicas)),
        listen="127.0.0.1:18599", run_dir=str(tmp_path), hosts=("class.school.example",),
        error_log=str(tmp_path / "error.log"), access_log=str(tmp_path / "access.log"),
        user=nginx_config.worker_user(),
    )
    checked = _nginx_t(tmp_path, plan)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_compose_config_is_the_generated_one_and_passes_nginx_t(tmp_path):
    """deploy/compose.nginx.conf is what `python -m deploy.nginx_config --compose` writes; with its
    service names pointed at loopback (nginx -t resolves them) and paths here, nginx accepts it."""
    plan = nginx_config.compose_plan()
    assert nginx_config.COMPOSE_CONFIG.read_text() == nginx_config.render(plan), (
        "deploy/compose.nginx.conf is stale: run `python -m deploy.nginx_config --compose`"
    )
    here = dataclasses.replace(plan, replicas=("127.0.0.1:18701", "127.0.0.1:18702"), run_dir=str(tmp_path),
                               listen="127.0.0.1:18700", access_log=str(tmp_path / "access.log"),
                               user=nginx_config.worker_user())
    checked = _nginx_t(tmp_path, here)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    "change",
    [
        {"hosts": ("evil.example; return 200",)},
        {"hosts": ("a}b",)},
        {"replicas": ()},
        {"replicas": ("127.0.0.1:1", "127.0.0.1:1")},
        {"replicas": ("127.0.0.1",)},
        {"listen": "80; include /etc/passwd"},
        {"run_dir": "/tmp/a b"},
        {"upload_rate": "lots"},
        {"upload_max_body": "1g;"},
    ],
)
def test_plan_refuses_what_would_inject_or_break_the_config(change):
    base = dict(replicas=("127.0.0.1:18601",), listen="18600", run_dir="/tmp/x")
    with pytest.raises(ValueError):
        nginx_config.ProxyPlan(**{**base, **change})


# --------------------------------------------------------------------------------------------
# Through nginx: affinity


def test_new_browsers_alternate_replicas_and_a_cookie_keeps_each_on_its_own(classroom):
    firsts = [ask(classroom.port, "/") for _ in range(4)]
    assert all(answer.status == 200 for answer in firsts)
    served = [answer.headers.get("x-replica") for answer in firsts]
    assert set(served) == {"r0", "r1"}, served
    assert [replica_cookie(answer) for answer in firsts] == served, "the cookie must name the replica that answered"

    for name in ("r0", "r1"):
        cookie = f"{nginx_config.COOKIE}={name}"
        later = [ask(classroom.port, path, headers={"Cookie": cookie})
                 for path in ["/", "/_stcore/health", "/_stcore/host-config"] * 3]
        assert [answer.headers.get("x-replica") for answer in later] == [name] * len(later)
        assert all(answer.status == 200 for answer in later), [answer.status for answer in later]
        assert not any(replica_cookie(answer) for answer in later), "a browser on its replica gets no new cookie"
        # The WebSocket, where the session lives, goes to the same replica.
        upgrade = ask(classroom.port, "/_stcore/stream",
                      headers=websocket_headers(f"http://127.0.0.1:{classroom.port}", cookie))
        assert upgrade.status == 101, upgrade
        assert upgrade.headers.get("x-replica") == name

    stale = ask(classroom.port, "/", headers={"Cookie": f"{nginx_config.COOKIE}=r9"})
    assert stale.status == 200 and replica_cookie(stale) == stale.headers["x-replica"]


# --------------------------------------------------------------------------------------------
# Through nginx: what a bare replica leaves open


def test_a_forged_host_is_refused_before_any_replica(classroom):
    forged = ask(classroom.port, "/", host="attacker.example")
    assert forged.status == 421 and "x-replica" not in forged.headers
    for host in (f"localhost:{classroom.port}", f"127.0.0.1:{classroom.port}", "127.0.0.1"):
        assert ask(classroom.port, "/_stcore/health", host=host).status == 200, host


def test_a_forged_host_and_origin_pair_cannot_open_the_websocket(classroom):
    port = classroom.port
    direct = classroom.replica("r0")["port"]
    # DNS rebinding: the attacker's page and its WebSocket both name the attacker's host.
    # On a bare replica this opens (what the issue found) ...
    bare = ask(direct, "/_stcore/stream", headers=websocket_headers(f"http://attacker.example:{direct}"),
               host=f"attacker.example:{direct}")
    assert bare.status == 101, f"expected the bare replica to accept the forged pair (status {bare.status})"
    # ... through nginx it does not.
    forged = websocket_headers(origin=f"http://attacker.example:{port}")
    assert ask(port, "/_stcore/stream", headers=forged, host=f"attacker.example:{port}").status == 421
    # An allowed Host with another site's Origin (cross-site WebSocket hijacking) is refused too.
    assert ask(port, "/_stcore/stream", headers=websocket_headers("http://attacker.example")).status == 403
    # The page's own origin opens it.
    assert ask(port, "/_stcore/stream", headers=websocket_headers(f"http://127.0.0.1:{port}")).status == 101
    assert ask(port, "/_stcore/stream", headers=websocket_headers(f"http://localhost:{port}"),
               host=f"localhost:{port}").status == 101


def test_metrics_are_not_exposed(classroom):
    direct = classroom.replica("r1")["port"]
    assert ask(direct, "/_stcore/metrics").status == 200, "a bare replica serves its metrics"
    for cookie in ("r0", "r1", None):
        headers = {"Cookie": f"{nginx_config.COOKIE}={cookie}"} if cookie else {}
        for path in ("/_stcore/metrics", "/_stcore/metrics?format=text", "/_stcore/metrics/"):
            assert ask(classroom.port, path, headers=headers).status == 404, path


def _replica_saw(classroom, path_part: str, status: int) -> list[str]:
    lines = Path(classroom.status["access_log"]).read_text().splitlines()
    return [line for line in lines if path_part in line and f'" {status} ' in line and "upstream=-" not in line]


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "lstmboundary" + os.urandom(6).hex()
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sequence.csv\"\r\n"
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + b"0" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_uploads_are_capped_in_size_and_rate_per_client(classroom):
    """A real session on r0 uploads as the page would (XSRF token, its session id): a file under
    1 MiB is stored by the replica; a bigger body is refused by nginx before any replica reads
    it; a console loop of uploads is cut off after a short burst."""
    from deploy.session_client import StudentSession

    port = classroom.port

    async def scenario():
        session = StudentSession(f"http://127.0.0.1:{port}", replica="r0")
        await session.open()
        try:
            health = ask(port, "/_stcore/health", headers={"Cookie": f"{nginx_config.COOKIE}=r0"})
            xsrf = next(cookie.split(";")[0].split("=", 1)[1] for cookie in health.cookies
                        if cookie.startswith("_streamlit_xsrf="))
            headers = {"Cookie": f"{nginx_config.COOKIE}=r0; _streamlit_xsrf={xsrf}", "X-Xsrftoken": xsrf}

            def upload(size: int, file_id: str) -> Answer:
                body, content_type = _multipart(size)
                return ask(port, f"/_stcore/upload_file/{session.session_id}/{file_id}", "PUT",
                           headers={**headers, "Content-Type": content_type}, body=body)

            stored = upload(900_000, "small")
            too_big = upload(1_200_000, "big")
            # The session lives on r0 only: r1 refuses an upload for it (why affinity is needed).
            elsewhere = ask(port, f"/_stcore/upload_file/{session.session_id}/x", "PUT",
                            headers={**headers, "Cookie": f"{nginx_config.COOKIE}=r1; _streamlit_xsrf={xsrf}",
                                     "Content-Type": "text/plain"}, body=b"x")
            flood = [upload(1000, f"flood{index}").status for index in range(15)]
            return stored, too_big, flood, elsewhere
        finally:
            await session.close()

    stored, too_big, flood, elsewhere = run_in_own_loop(scenario)
    assert (stored.status, stored.headers.get("x-replica")) == (204, "r0"), stored
    assert too_big.status == 413 and "x-replica" not in too_big.headers, too_big
    assert not _replica_saw(classroom, "/big", 413), "the refused body must not reach a replica"
    assert 429 in flood, flood
    assert all(status == 429 for status in flood[flood.index(429):]), flood
    assert flood[0] == 204, flood
    assert (elsewhere.status, elsewhere.headers.get("x-replica")) == (400, "r1"), elsewhere
    assert ask(port, "/_stcore/health").status == 200, "only uploads are rate-limited"


# --------------------------------------------------------------------------------------------
# The launcher: replicas' settings and stopping


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_replicas_share_one_cookie_secret_and_free_closed_sessions(classroom):
    secrets_seen = set()
    for replica in classroom.status["replicas"]:
        command = Path(f"/proc/{replica['pid']}/cmdline").read_bytes().split(b"\0")
        assert b"--server.disconnectedSessionTTL" in command
        ttl = command[command.index(b"--server.disconnectedSessionTTL") + 1]
        assert int(ttl) == class_server.DEFAULT_SESSION_TTL_S
        secret = _environ(replica["pid"]).get("STREAMLIT_SERVER_COOKIE_SECRET", "")
        assert len(secret) >= 32
        assert secret.encode() not in b" ".join(command), "the secret must not show in `ps`"
        secrets_seen.add(secret)
    assert len(secrets_seen) == 1


def _children_gone(status: dict, timeout: float = 10.0) -> list[int]:
    pids = [status["nginx_pid"], *(replica["pid"] for replica in status["replicas"])]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_every_process_it_started(tmp_path, how):
    _need_nginx()
    launched = launch(tmp_path, replicas=1)
    assert ask(launched.port, "/_stcore/health").status == 200
    assert stop(launched, how) == 0, launched.output()
    assert _children_gone(launched.status) == [], launched.output()
    assert not Path(launched.status["run_dir"]).exists(), "the temporary folder is removed"


def test_a_replica_that_dies_stops_the_class_loudly(tmp_path):
    _need_nginx()
    launched = launch(tmp_path, replicas=1)
    os.kill(launched.status["replicas"][0]["pid"], signal.SIGKILL)
    assert launched.process.wait(timeout=20) == 1
    assert "replica r0 exited" in launched.output()
    assert _children_gone(launched.status) == [], launched.output()


# --------------------------------------------------------------------------------------------
# The container: what deploy/Dockerfile installs and copies (docker itself is not run here)


def test_the_container_lock_satisfies_requirements_txt():
    from packaging.version import Version

    from deploy import lock_requirements

    lock_path = ROOT / "deploy" / "requirements.lock"
    pinned = dict(line.split("==") for line in lock_path.read_text().splitlines() if line and not line.startswith("#"))
    for requirement in lock_requirements.requirements():
        if not lock_requirements.applies(requirement):
            continue
        name = lock_requirements.normalise(requirement.name)
        assert name in pinned, f"{name} is in requirements.txt but not in deploy/requirements.lock (regenerate it)"
        assert requirement.specifier.contains(Version(pinned[name]), prereleases=True), (
            f"deploy/requirements.lock pins {name}=={pinned[name]}, outside requirements.txt's {requirement}"
        )
    # Complete: every pinned package's own Linux dependencies are pinned too (pip install
    # --no-deps in the Dockerfile relies on it).
    assert set(lock_requirements.closure(lock_requirements.requirements())) <= set(pinned)


def _first_party_imports() -> set[str]:
    """Top-level names of this repository's own modules that the app's code imports."""
    import ast

    own = {path.stem if path.suffix == ".py" else path.name for path in ROOT.iterdir()
           if (path.suffix == ".py" or (path / "__init__.py").exists() or path.name == "pages") and path.name != "tests"}
    sources = [ROOT / "dashboard.py", *(ROOT / "pages").glob("*.py")]
    seen, names = set(), set()
    while sources:
        source = sources.pop()
        if source in seen or not source.exists():
            continue
        seen.add(source)
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for module in modules:
                top = module.split(".")[0]
                if top in own:
                    names.add(top)
                    package = ROOT / top
                    sources.extend(package.rglob("*.py") if package.is_dir() else [ROOT / f"{top}.py"])
    return names


def test_the_image_copies_every_module_the_app_imports():
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    copied = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    needed = _first_party_imports() | {"dashboard.py", "pages", ".streamlit"}
    missing = sorted(name for name in needed if name not in copied and f"{name}.py" not in copied)
    assert not missing, f"deploy/Dockerfile.dockerignore leaves out {missing}: the image would fail to import them"
    assert "deploy" not in copied and "tests" not in copied and ".venv" not in copied
