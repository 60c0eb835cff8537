"""A class bigger than one process: N students press Train at once, through nginx, on 1 or 2 replicas.

For each replica count, `python -m deploy.class_server` (what `make class` runs) starts that many
Streamlit processes behind nginx. Each replica is warmed first (TensorFlow loaded, the three
tutorial shapes compiled, as after a class's first minutes). Then N headless students
(deploy/session_client.py: Streamlit's own WebSocket protocol, no browser, a few MB each) load
the page with a tutorial config of their own, nginx spreading them round-robin; when all have
their page, all press Train in the same instant. Printed: time until every student has both
charts, the first and median, how the students were spread, errors, the replicas' memory, and
the Train presses served per second per replica (≈ per core, one process using one core).
Information, not a test: `python benchmarks/bench_replicas.py [--replicas 1 2] [--sessions 32]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from deploy import class_server  # noqa: E402
from deploy.session_client import StudentSession  # noqa: E402

TOPOLOGIES = ("one_to_one", "many_to_one", "many_to_many")


def start_class(replicas: int, log_dir: Path) -> tuple[subprocess.Popen, dict]:
    port = class_server.free_ports(1)[0]
    output = open(log_dir / "launcher.out", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.class_server", "--replicas", str(replicas), "--port", str(port),
         "--address", "127.0.0.1", "--log-dir", str(log_dir)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
    )
    status_path = log_dir / "class.json"
    deadline = time.monotonic() + 120
    while not status_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((log_dir / "launcher.out").read_text(errors="replace"))
        time.sleep(0.1)
    time.sleep(0.05)
    return process, json.loads(status_path.read_text())


def stop_class(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def warm(url: str, replica: str) -> None:
    """TensorFlow loaded and the three tutorial shapes compiled in this replica."""
    for topology in TOPOLOGIES:
        session = StudentSession(url, {"topology": topology, "seed": "0"}, replica=replica)
        try:
            await session.open(timeout=300)
            record = await session.press("Train", timeout=300)
            if record.errors:
                raise RuntimeError(f"warm-up on {replica}: {record.errors}")
        finally:
            await session.close()


async def warm_all(status: dict) -> None:
    await asyncio.gather(*(warm(status["url"], replica["name"]) for replica in status["replicas"]))


async def classroom(url: str, students: int) -> dict:
    sessions = [StudentSession(url, {"topology": TOPOLOGIES[index % 3], "seed": str(index)})
                for index in range(students)]
    # Pages load a few at a time (the way a class arrives), all before anyone presses Train.
    opened_at = time.perf_counter()
    for first in range(0, students, 8):
        await asyncio.gather(*(session.open(timeout=300) for session in sessions[first:first + 8]))
    page_loads_s = time.perf_counter() - opened_at
    cpu_before = time.process_time()
    finished: list[float] = [float("nan")] * students
    errors: list[str] = []

    async def student(index: int) -> None:
        try:
            record = await sessions[index].press("Train", timeout=900)
            if record.errors:
                errors.append(f"student {index}: {record.errors[0]}")
            elif not any(title.startswith("Target vs prediction") for title in record.chart_titles):
                errors.append(f"student {index}: no prediction chart ({record.chart_titles})")
        except Exception as error:  # noqa: BLE001 - counted and printed
            errors.append(f"student {index}: {error!r}")
        finished[index] = time.perf_counter()

    pressed = time.perf_counter()
    await asyncio.gather(*(student(index) for index in range(students)))
    client_cpu = time.process_time() - cpu_before
    await asyncio.gather(*(session.close() for session in sessions))
    done = [moment - pressed for moment in finished]
    return {
        "all": max(done),
        "first": min(done),
        "median": statistics.median(done),
        "spread": dict(sorted(Counter(session.replica for session in sessions).items())),
        "errors": errors,
        "page_loads_s": page_loads_s,
        "client_cpu_s": client_cpu,
    }


def replica_rss_mb(status: dict) -> list[float]:
    sizes = []
    for replica in status["replicas"]:
        try:
            sizes.append(psutil.Process(replica["pid"]).memory_info().rss / 2**20)
        except psutil.Error:
            sizes.append(float("nan"))
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sessions", type=int, nargs="+", default=[32])
    args = parser.parse_args()
    if class_server.find_nginx() is None:
        print("bench_replicas: nginx is not installed (`apt-get install nginx`); nothing measured")
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"bench_replicas: {cores} cores, load {load}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("each student: the tutorial run of its topology (500-1000 epochs), the full page script, "
          "through nginx over Streamlit's WebSocket")
    header = (f"{'replicas':>8}  {'students':>8}  {'all charts':>10}  {'first':>6}  {'median':>6}  "
              f"{'Train/s/replica':>15}  {'spread':<18}  {'replica RSS MB':<16}  errors")
    rows = []
    for replicas in args.replicas:
        log_dir = Path(tempfile.mkdtemp(prefix=f"bench-replicas-{replicas}-"))
        process, status = start_class(replicas, log_dir)
        try:
            warm_started = time.perf_counter()
            asyncio.run(warm_all(status))
            print(f"  {replicas} replica(s): ready and warm in {time.perf_counter() - warm_started:.1f} s")
            for students in args.sessions:
                row = asyncio.run(classroom(status["url"], students))
                rss = replica_rss_mb(status)
                rate = students / row["all"] / replicas
                rows.append((replicas, students, row))
                if len(rows) == 1:
                    print(header)
                print(f"{replicas:>8}  {students:>8}  {row['all']:>9.2f}s  {row['first']:>5.2f}s  {row['median']:>5.2f}s  "
                      f"{rate:>15.2f}  {json.dumps(row['spread']):<18}  {'/'.join(f'{v:.0f}' for v in rss):<16}  "
                      f"{len(row['errors'])}   (pages loaded in {row['page_loads_s']:.1f} s; "
                      f"client CPU {row['client_cpu_s']:.1f} s)", flush=True)
                for error in row["errors"][:5]:
                    print("     ", error)
        finally:
            stop_class(process)
            shutil.rmtree(log_dir, ignore_errors=True)
    by_count = {(replicas, students): row["all"] for replicas, students, row in rows}
    for students in args.sessions:
        if (1, students) in by_count and (2, students) in by_count:
            print(f"{students} students: 2 replicas {by_count[(1, students)] / by_count[(2, students)]:.2f}× faster "
                  f"than 1 ({by_count[(1, students)]:.1f} s → {by_count[(2, students)]:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
