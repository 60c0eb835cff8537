"""How many students one server process holds: N page sessions pressing Train at the same moment.

Each session is a Streamlit AppTest of the real dashboard (the same script the browser gets),
in its own thread, with its own tutorial config and seed; all press Train together. Prints the
wall time until all have their charts, the slowest session, errors, and resident memory.
Information, not a test: run `python benchmarks/bench_classroom.py [--sessions 8 16 32]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import psutil  # noqa: E402
from streamlit import config as streamlit_config  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import lstm_core  # noqa: E402

DASHBOARD = str(ROOT / "dashboard.py")


def tutorial_config(index: int):
    topologies = ["one_to_one", "many_to_one", "many_to_many"]
    return lstm_core.ExperimentConfig(topology=topologies[index % 3], seed=index)


def session_for(config) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=600)
    at.query_params.update(config.to_query_params())
    return at.run()


def classroom(sessions: int, config_for=tutorial_config) -> dict:
    apps = [session_for(config_for(index)) for index in range(sessions)]
    barrier = threading.Barrier(sessions + 1)
    finished: list[float] = [0.0] * sessions
    errors: list[str] = []

    def student(index: int) -> None:
        at = apps[index]
        train = next(button for button in at.button if button.label == "Train")
        barrier.wait()
        try:
            train.click().run()
            if at.exception:
                errors.append(f"session {index}: {at.exception[0].message}")
            elif len(at.get("plotly_chart")) < 2:
                errors.append(f"session {index}: no prediction chart")
        except Exception as exc:  # noqa: BLE001 - counted and printed
            errors.append(f"session {index}: {exc!r}")
        finished[index] = time.perf_counter()

    threads = [threading.Thread(target=student, args=(index,)) for index in range(sessions)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return {
        "sessions": sessions,
        "done s": [at - started for at in finished],
        "all done s": max(finished) - started,
        "first done s": min(finished) - started,
        "errors": errors,
        "rss MB": psutil.Process().memory_info().rss / 2**20,
    }


def _calmer_apptest_polling() -> None:
    """AppTest waits for each script run by polling every millisecond; 32 sessions polling at
    once starve the script threads of the GIL (minutes of system time) — a harness cost a real
    server does not have. Poll every 20 ms instead (a run's end is seen ≤ 20 ms late)."""
    from streamlit.testing.v1 import local_script_runner

    class _Time:
        time = staticmethod(time.time)

        @staticmethod
        def sleep(seconds: float) -> None:
            time.sleep(max(seconds, 0.02))

    local_script_runner.time = _Time


def main() -> None:
    _calmer_apptest_polling()
    # As .streamlit/config.toml: no "magic", so no ast.parse racing between sessions (CPython 3.11.7).
    streamlit_config.set_option("runner.magicEnabled", False)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--mixed", type=int, default=16,
                        help="then this many sessions, every other one on a shape never compiled (0: skip)")
    args = parser.parse_args()
    print(f"bench_classroom: {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    print("warming up (TensorFlow import and the three tutorial shapes)…")
    for topology in ("one_to_one", "many_to_one", "many_to_many"):
        lstm_core.train(lstm_core.ExperimentConfig(topology=topology, epochs=10))
    print(f"{'sessions':>8}  {'first done':>10}  {'all done':>9}  {'per session':>11}  {'RSS MB':>7}  errors")
    for sessions in args.sessions:
        row = classroom(sessions)
        print(
            f"{row['sessions']:>8}  {row['first done s']:>9.2f}s  {row['all done s']:>8.2f}s  "
            f"{row['all done s'] / sessions:>10.3f}s  {row['rss MB']:>7.0f}  {len(row['errors'])}"
        )
        for error in row["errors"][:5]:
            print("   ", error)
    print("(each session: the tutorial run of its topology, 500-1000 epochs, the full page script)")
    if args.mixed:
        mixed(args.mixed)


def mixed(sessions: int) -> None:
    """Issue 12's queue: half the class on shapes never compiled (many-to-one, lengths 20, 21, …:
    one compile each), half on the tutorial's compiled shapes, all pressing Train together. A
    compile must not hold up the runs that need none: compiles take a lock of their own."""
    def config_for(index: int):
        if index % 2:
            return lstm_core.ExperimentConfig(topology="many_to_one", sequence_length=20 + index // 2, epochs=300)
        return tutorial_config(index)

    before = os.environ.get("LSTM_DASHBOARD_PREFETCH")
    os.environ["LSTM_DASHBOARD_PREFETCH"] = "0"  # every new shape compiles on Train, the worst case
    try:
        row = classroom(sessions, config_for)
    finally:
        if before is None:
            del os.environ["LSTM_DASHBOARD_PREFETCH"]
        else:
            os.environ["LSTM_DASHBOARD_PREFETCH"] = before
    cached = [done for index, done in enumerate(row["done s"]) if index % 2 == 0]
    new = [done for index, done in enumerate(row["done s"]) if index % 2]
    print(f"\n{sessions} sessions pressing Train together, {len(new)} of them on a shape never compiled:")
    print(f"  sessions on compiled shapes: all charts after {max(cached):.2f} s (median {sorted(cached)[len(cached) // 2]:.2f} s)")
    print(f"  sessions on new shapes:      all charts after {max(new):.2f} s ({len(new)} compiles, one at a time)")
    print(f"  errors: {len(row['errors'])}; RSS {row['rss MB']:.0f} MB")
    print("  (issue 12 measured before: 56 s for the last chart, 29 s for the compiled tutorial runs)")


if __name__ == "__main__":
    main()
