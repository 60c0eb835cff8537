"""Shared helpers for the benchmark scripts: machine description, memory, timing, tables.

Not a test helper: the benchmarks print figures and PASS/MISS lines and always exit 0 on a
miss. Run them from the repository root, e.g. `python benchmarks/bench_engine.py`.
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/x.py` from anywhere finds lstm_core
    sys.path.insert(0, str(ROOT))

# Quieter TensorFlow start-up (lstm_core.backend only sets level 2 when it is unset).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> str:
    total = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = total
    return f"{usable}" if usable == total else f"{usable} usable of {total}"


def header(title: str) -> list[str]:
    """Date, machine and versions; imports TensorFlow (its import time is reported separately)."""
    import keras
    import numpy
    import tensorflow as tf

    lines = [
        title,
        "=" * len(title),
        f"date        {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine     {platform.node()}  {platform.system()} {platform.release()} {platform.machine()}",
        f"cpu         {cpu_model()}, {usable_cores()} cores",
        f"memory      {total_memory_gib():.1f} GiB",
        f"python      {platform.python_version()} ({sys.executable})",
        f"tensorflow  {tf.__version__}   keras {keras.__version__}   numpy {numpy.__version__}"
        f"   plotly {_version('plotly')}   psutil {_version('psutil')}",
    ]
    return lines


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - informational only
        return "?"


def total_memory_gib() -> float:
    try:
        import psutil

        return psutil.virtual_memory().total / 2**30
    except Exception:  # noqa: BLE001
        return float("nan")


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return "n/a"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def rss_mb() -> float:
    """Current resident set size of this process, MB (2**20 bytes)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size (ru_maxrss) of this process, MB. Linux reports KiB, macOS bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class Timer:
    """Wall (perf_counter) and process CPU (process_time: all threads) of a block."""

    def __enter__(self):
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        return False


def median(values) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list], indent: str = "  ") -> list[str]:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def fmt(row):
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        return indent + "  ".join(parts).rstrip()

    return [fmt(cells[0]), indent + "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells[1:]]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def emit(lines) -> None:
    """Print now (flushed), so a slow section shows progress in CI logs."""
    if isinstance(lines, str):
        lines = [lines]
    for line in lines:
        print(line)
    sys.stdout.flush()
