"""`make class`: N Streamlit replicas of the dashboard behind nginx, in the foreground.

One Streamlit process runs every session under one GIL, so a class on one process uses about
one core. This starts N processes on loopback ports and Debian's nginx in front of them on one
port, with sticky sessions by cookie (deploy/nginx.conf.template says how), then waits.
Ctrl-C or SIGTERM stops everything it started, by process id; so does any of them exiting.

- Every replica gets the same `server.cookieSecret` (a fresh random one per start, or
  LSTM_COOKIE_SECRET) and `server.disconnectedSessionTTL`, so a closed tab frees its memory.
- nginx runs as the current user from a temporary folder (its config, pid and temporary files):
  nothing system-wide is touched and no root-only path is needed.
- "ready" is printed only when every replica answered /_stcore/health directly and through nginx.

Usage: python -m deploy.class_server --replicas 2 --port 8501 [--hosts class.school.example]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # `python deploy/class_server.py` works too
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deploy import nginx_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SESSION_TTL_S = 120
HEALTH_TIMEOUT_S = 90.0
STOP_GRACE_S = 8.0


class Stop(Exception):
    """Raised by the signal handler: leave whatever we were doing and shut down."""

    def __init__(self, signal_number: int):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


def find_nginx() -> str | None:
    """Debian's nginx is /usr/sbin/nginx, often outside a user's PATH."""
    return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(path, os.X_OK)), None)


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (held open together while chosen, so they differ)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            probes.append(probe)
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def replica_command(port: int, session_ttl_s: int) -> list[str]:
    return [
        # app.serve is `streamlit run dashboard.py` with TensorFlow and the tutorial's shapes
        # warming up as the replica starts, before its first student arrives.
        sys.executable, "-m", "app.serve",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.disconnectedSessionTTL", str(session_ttl_s),
    ]


def replica_environment(cookie_secret: str) -> dict[str, str]:
    # The secret goes by environment, not the command line, where `ps` would show it.
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret,
    }


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the launcher dies without cleaning up
    (kill -9), so no replica outlives it. Linux only; elsewhere a no-op."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclasses.dataclass
class Child:
    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    port: int | None = None

    def start(self, env: dict[str, str] | None = None) -> None:
        with open(self.log_path, "ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches only the launcher, which then
            # stops the children in order (nginx first, so nothing new reaches a stopping replica).
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-limit:] or "(no output)"
        except OSError:
            return "(no log)"


def stop_children(children: list[Child], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each child by its process id, wait up to `grace_s` in all, then SIGKILL the rest."""
    for child in children:
        if child.running():
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
    deadline = time.monotonic() + grace_s
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            child.process.wait(timeout=5)


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


def wait_healthy(child: Child, url: str, timeout_s: float, headers: dict[str, str] | None = None,
                 check=lambda headers: True) -> float:
    """Seconds until `url` answered "ok" (and `check(headers)` held); RuntimeError if the
    process exits or the time runs out."""
    started = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - started < timeout_s:
        if not child.running():
            raise RuntimeError(f"{child.name} exited (status {child.process.poll()}) before it was healthy:\n{child.log_tail()}")
        try:
            status, answer_headers, body = http_get(url, headers)
            if status == 200 and body.strip() == "ok" and check(answer_headers):
                return time.monotonic() - started
            last = f"HTTP {status} {body.strip()[:80]!r} {answer_headers.get('X-Replica', '')}"
        except (urllib.error.URLError, ConnectionError, socket.timeout) as error:
            last = f"{type(error).__name__}: {error}"
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} was not healthy at {url} within {timeout_s:.0f} s ({last})")


def _say(text: str) -> None:
    print(f"[class] {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    nginx = args.nginx or find_nginx()
    if nginx is None:
        _say("nginx is not installed: `sudo apt-get install nginx` (Debian's package; it need not run as a service)")
        return 2
    run_dir = Path(tempfile.mkdtemp(prefix="lstm-class-"))
    log_dir = Path(args.log_dir).resolve() if args.log_dir else run_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    cookie_secret = os.environ.get("LSTM_COOKIE_SECRET") or secrets.token_urlsafe(32)
    children: list[Child] = []
    replicas: list[Child] = []
    stopped_by: str | None = None

    def on_signal(number, _frame):
        raise Stop(number)

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        ports = free_ports(args.replicas)
        environment = replica_environment(cookie_secret)
        for index, port in enumerate(ports):
            child = Child(f"replica r{index}", replica_command(port, args.session_ttl), log_dir / f"replica-r{index}.log", port=port)
            child.start(environment)
            children.append(child)
            replicas.append(child)
            _say(f"started replica r{index} on 127.0.0.1:{port} (pid {child.process.pid})")
        for index, child in enumerate(replicas):
            seconds = wait_healthy(child, f"http://127.0.0.1:{child.port}/_stcore/health", HEALTH_TIMEOUT_S)
            _say(f"replica r{index} healthy after {seconds:.1f} s")

        plan = nginx_config.ProxyPlan(
            replicas=tuple(f"127.0.0.1:{child.port}" for child in replicas),
            listen=f"{args.address}:{args.port}" if args.address else str(args.port),
            run_dir=str(run_dir),
            hosts=tuple(host for host in args.hosts.split(",") if host),
            error_log=str(log_dir / "nginx-error.log"),
            access_log=str(log_dir / "access.log"),
            user=nginx_config.worker_user(),
            upload_rate=args.upload_rate,
        )
        config_path = run_dir / "nginx.conf"
        config_path.write_text(nginx_config.render(plan), encoding="utf-8")
        nginx_base = [nginx, "-p", str(run_dir), "-c", str(config_path), "-e", "stderr"]
        checked = subprocess.run([*nginx_base, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the generated config {config_path}:\n{checked.stderr}")
        proxy = Child("nginx", nginx_base, log_dir / "nginx.log")
        proxy.start()
        children.insert(0, proxy)  # stopped first
        local = f"http://127.0.0.1:{args.port}"
        for name, child in zip(plan.replica_names, replicas):
            wait_healthy(proxy, f"{local}/_stcore/health", 15.0,
                         headers={"Host": f"localhost:{args.port}", "Cookie": f"{nginx_config.COOKIE}={name}"},
                         check=lambda headers, name=name: headers.get("X-Replica") == name)
        status = {
            "url": local,
            "port": args.port,
            "pid": os.getpid(),
            "nginx_pid": proxy.process.pid,
            "replicas": [{"name": name, "port": child.port, "pid": child.process.pid, "log": str(child.log_path)}
                         for name, child in zip(plan.replica_names, replicas)],
            "log_dir": str(log_dir),
            "access_log": plan.access_log,
            "run_dir": str(run_dir),
            "server_names": plan.server_names(),
        }
        (log_dir / "class.json").write_text(json.dumps(status, indent=2), encoding="utf-8")
        shown = args.address if args.address not in ("", "0.0.0.0") else socket.gethostname()
        _say(f"ready: http://{shown}:{args.port} ({args.replicas} replicas through nginx; also {local})")
        _say(f"logs in {log_dir}{'' if args.log_dir else ' (deleted on exit; --log-dir to keep them)'}; Ctrl-C stops everything")

        while True:
            for child in children:
                if not child.running():
                    raise RuntimeError(f"{child.name} exited (status {child.process.poll()}):\n{child.log_tail()}")
            time.sleep(0.5)
    except Stop as stop:
        stopped_by = stop.args[0]
        return 0
    except RuntimeError as error:
        _say(f"error: {error}")
        return 1
    finally:
        # A second Ctrl-C while stopping must not leave processes behind: ignore it.
        for number in previous:
            signal.signal(number, signal.SIG_IGN)
        _say(f"stopping {len(children)} processes" + (f" ({stopped_by})" if stopped_by else ""))
        stop_children(children)
        shutil.rmtree(run_dir, ignore_errors=True)
        for number, handler in previous.items():
            signal.signal(number, handler)
        _say("stopped")


def default_replicas() -> int:
    """One per core (a process uses about one), but no more than the memory holds (~1 GiB each)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        memory_gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gib = cores
    return max(1, min(cores, int(memory_gib) - 1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    replicas = default_replicas()
    parser = argparse.ArgumentParser(description="N Streamlit replicas of the dashboard behind nginx (sticky sessions).")
    parser.add_argument("--replicas", type=int, default=replicas,
                        help=f"Streamlit processes (default: one per core within memory, {replicas} here)")
    parser.add_argument("--port", type=int, default=8501, help="nginx's port (default 8501)")
    parser.add_argument("--address", default="0.0.0.0",
                        help="nginx's address (default 0.0.0.0: the classroom network; 127.0.0.1 for this machine only)")
    parser.add_argument("--hosts", default="",
                        help="comma-separated host names students type, besides localhost, this machine's names and IP addresses")
    parser.add_argument("--session-ttl", type=int, default=DEFAULT_SESSION_TTL_S,
                        help=f"seconds a closed tab's session is kept (server.disconnectedSessionTTL, default {DEFAULT_SESSION_TTL_S})")
    parser.add_argument("--upload-rate", default="20r/m", help="uploads per client address (nginx limit_req rate, default 20r/m)")
    parser.add_argument("--log-dir", default="", help="keep the replicas' and nginx's logs here")
    parser.add_argument("--nginx", default="", help="the nginx binary (default: found on PATH or /usr/sbin/nginx)")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 64:
        parser.error("--replicas must be between 1 and 64")
    if not 1 <= args.port <= 65535:
        parser.error("--port must be a TCP port")
    return args


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
