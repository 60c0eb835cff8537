#!/usr/bin/env python
"""Many runs in one call: `train_many` (one vectorised population) against sequential `train`.

    python benchmarks/bench_population.py               # both workloads, 100 seeds each (~2 min on 2 cores)
    python benchmarks/bench_population.py --sequential 20   # time 20 sequential runs, scale to 100

Workloads: 100 seeds of the tutorial many-to-many (echo, 1,000 epochs) and 100 seeds of the
delay task's defaults for many-to-many (200 epochs, mini-batches, validation). Both sides are
warm: the population's shape and the engine's shape are compiled (and timed) before the
measured calls, which are the median of --repeats. Prints both times, the speed-up, and
PASS/MISS against the tutorial's targets (< 1 s, ≥ 10×); a MISS is information, exit status 0.
"""

from __future__ import annotations

import argparse
import time

import _benchutil as bu  # sets sys.path so lstm_core imports from the repository root

TARGET_SECONDS = 1.0
TARGET_SPEEDUP = 10.0


def measure(name: str, base, members: int, sequential: int, repeats: int) -> list:
    from lstm_core import train
    from lstm_core.population import train_many

    configs = [base.replace(seed=seed) for seed in range(members)]
    started = time.perf_counter()
    train_many(configs)
    cold = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        results = train_many(configs)
        times.append(time.perf_counter() - started)
    population = bu.median(times)

    train(configs[0])  # compile the engine's shape
    started = time.perf_counter()
    for config in configs[:sequential]:
        alone = train(config)
    one_by_one = (time.perf_counter() - started) * members / sequential
    worst = max(abs(float(a) - float(b)) for a, b in zip(alone.losses, results[sequential - 1].losses))
    scaled = "" if sequential == members else f" (×{members / sequential:g} of {sequential})"
    return [name, f"{base.epochs}", f"{cold:.2f}", f"{population:.3f}", f"{one_by_one:.2f}{scaled}",
            f"{one_by_one / population:.1f}×", f"{worst:.1e}"], population, one_by_one / population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--sequential", type=int, default=None, help="sequential runs timed (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sequential = min(args.sequential or args.members, args.members)

    bu.emit(bu.header("bench_population: train_many (one population) vs sequential train, warm"))
    bu.emit(f"load        {bu.load_average()}")
    from lstm_core import ExperimentConfig

    workloads = [
        ("tutorial many_to_many", ExperimentConfig(task="echo", topology="many_to_many")),
        ("delay many_to_many", ExperimentConfig(task="delay", topology="many_to_many")),
    ]
    rows = []
    figures = []
    for name, base in workloads:
        row, seconds, speedup = measure(name, base, args.members, sequential, args.repeats)
        rows.append(row)
        figures.append((name, seconds, speedup))
    bu.emit("")
    bu.emit(f"{args.members} seeds per workload; times in seconds (population: median of {args.repeats} warm calls)")
    bu.emit(bu.table(["workload", "epochs", "first call (compile)", "train_many", f"{args.members}× train",
                      "speed-up", "|Δ loss| last member"], rows))
    bu.emit("")
    name, seconds, speedup = figures[0]
    bu.emit(f"{name}: {seconds:.3f} s for {args.members} runs (target < {TARGET_SECONDS:g} s) "
            f"{bu.verdict(seconds < TARGET_SECONDS)}")
    bu.emit(f"{name}: speed-up {speedup:.1f}× (target ≥ {TARGET_SPEEDUP:g}×) {bu.verdict(speedup >= TARGET_SPEEDUP)}")
    bu.emit(f"load after  {bu.load_average()}")


if __name__ == "__main__":
    main()
