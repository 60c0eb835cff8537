#!/usr/bin/env python
"""The landscape: an 8×8 grid (units × learning rate) for three topologies, timed cold and warm.

    python benchmarks/bench_landscape.py                # echo task, 500 epochs (the page's default)
    python benchmarks/bench_landscape.py --epochs 200 --task delay

The grid is trained as the page trains it (`lstm_core.landscape.train_columns`: one population
per topology, its 8 units values × 8 learning rates as 64 members, compiled at the widest units
value's width): 3 compiles. Two passes: cold (the compiles of a fresh process), then warm.
Prints every pass and PASS/MISS against the issue's target (< 15 s warm); a MISS is
information, exit status 0.
"""

from __future__ import annotations

import argparse
import time

import _benchutil as bu  # sets sys.path so lstm_core imports from the repository root

TARGET_SECONDS = 15.0
UNITS = (2, 4, 6, 8, 12, 16, 24, 32)
LEARNING_RATES = (1e-4, 2.7e-4, 7.2e-4, 1.9e-3, 5.2e-3, 1.4e-2, 3.7e-2, 1e-1)  # log-spaced, 8 values


def one_pass(settings) -> tuple[float, float]:
    """(seconds for the whole grid, seconds of it spent compiling)."""
    from lstm_core import landscape

    grid = landscape.Landscape(settings)
    compiling = 0.0
    started = time.perf_counter()
    counted = set()
    for topology, units, results in landscape.train_columns(settings):
        grid.add(topology, units, results)
        if topology not in counted:  # a topology's columns share one population, one compile
            counted.add(topology)
            compiling += results[0].compile_seconds
    seconds = time.perf_counter() - started
    assert grid.complete
    return seconds, compiling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="echo")
    parser.add_argument("--epochs", type=int, default=None, help="default: the page's default")
    args = parser.parse_args()

    from lstm_core import landscape, population

    settings, messages = landscape.resolve_settings({
        "task": args.task, "topologies": ",".join(landscape.default_topologies()),
        "units": ",".join(map(str, UNITS)), "learning_rates": ",".join(map(repr, LEARNING_RATES)),
        "epochs": args.epochs or landscape.DEFAULT_EPOCHS})
    bu.emit(bu.header("bench_landscape: an 8×8 units × learning-rate grid for three topologies"))
    bu.emit(f"load        {bu.load_average()}")
    bu.emit(f"grid        {settings.task}, {', '.join(settings.topologies)}; units {settings.units}; "
            f"{len(settings.learning_rates)} learning rates; {settings.epochs:,} epochs; {settings.size} runs")
    for message in messages:
        bu.emit(f"note        {message}")
    rows = []
    seconds, compiling = one_pass(settings)
    compiled = len(population._cache)
    rows.append(["1 cold", f"{compiled}", f"{seconds:.1f}", f"{compiling:.1f}", f"{seconds - compiling:.1f}"])
    seconds, compiling = one_pass(settings)
    rows.append(["2 warm", f"{len(population._cache)}", f"{seconds:.1f}", f"{compiling:.1f}",
                 f"{seconds - compiling:.1f}"])
    bu.emit("")
    bu.emit(bu.table(["pass", "compiled populations", "grid s", "compiling s", "training s"], rows))
    bu.emit("")
    bu.emit(f"warm grid: {seconds:.1f} s (target < {TARGET_SECONDS:g} s) {bu.verdict(seconds < TARGET_SECONDS)}")
    bu.emit(f"load after  {bu.load_average()}")


if __name__ == "__main__":
    main()
