#!/usr/bin/env python
"""Speed of the training engine against the tutorial's `model.fit`, on this machine.

    python benchmarks/bench_engine.py            # full run, about 1.5-2 minutes on 2 cores
    python benchmarks/bench_engine.py --quick    # fewer `fit` epochs, for CI logs

For each tutorial config (`ExperimentConfig(topology=t)`, t = one_to_one, many_to_one,
many_to_many) it prints:

1. a full tutorial run through `lstm_core.train` with a `LossRecorder`: cold (the first run of
   that shape in this process, so tracing and XLA compilation are included) and warm (the
   second run);
2. the engine's steady-state cost per epoch (median of several 1000-epoch runs / 1000);
3. the streaming overhead of the page's callback (`ThrottledCallback(draw, 0.1)` where `draw`
   updates a Plotly figure in place and serialises it) against no callback, interleaved runs;
4. the tutorial's own way, `model.fit(X, y, epochs=N, batch_size, verbose=0)` with a callback,
   per epoch after a 5-epoch warm-up fit, and the ratios to the engine;
5. process memory (ru_maxrss and current RSS);
6. optional browser figures from benchmarks/bench_browser.py, when that file exists.

Then PASS/MISS lines against the targets. A MISS is information, not a failure: the exit
status is 0 unless the script itself breaks. The machine is shared and noisy: read the
ratios rather than the absolute times.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import inspect
import sys
import time
from pathlib import Path

import numpy as np

import _benchutil as bu  # sets sys.path so lstm_core imports from the repository root

TUTORIAL_TOPOLOGIES = ("one_to_one", "many_to_one", "many_to_many")

# Targets (see the module docstring). Printed as PASS/MISS, never enforced.
TARGET_RATIO = 500.0         # warm tutorial run at least this many times cheaper per epoch than fit
TARGET_WARM_SECONDS = 0.15   # warm tutorial run, wall
TARGET_COLD_SECONDS = 5.0    # cold tutorial run (compile included), wall
TARGET_STREAMING = 0.10      # page callback overhead over no callback

STEADY_EPOCHS = 1000
WARMUP_FIT_EPOCHS = 5


def ms(seconds: float, digits: int = 3) -> str:
    return f"{seconds * 1e3:.{digits}f}"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer fit epochs (100) and fewer repeats, for CI logs")
    parser.add_argument("--fit-epochs", type=int, default=None,
                        help="epochs of the timed model.fit (default 300, 100 with --quick)")
    parser.add_argument("--steady-runs", type=int, default=None,
                        help=f"{STEADY_EPOCHS}-epoch engine runs for the steady state (default 5, 3 with --quick)")
    parser.add_argument("--streaming-pairs", type=int, default=None,
                        help="interleaved (callback, no callback) pairs per topology (default 15, 7 with --quick)")
    args = parser.parse_args(argv)
    if args.fit_epochs is None:
        args.fit_epochs = 100 if args.quick else 300
    if args.steady_runs is None:
        args.steady_runs = 3 if args.quick else 5
    if args.streaming_pairs is None:
        args.streaming_pairs = 7 if args.quick else 15
    return args


# --------------------------------------------------------------------------------------------
# Measurements


def tutorial_runs(lstm_core, configs):
    """Cold (first train() of the shape in this process) and warm (second) tutorial runs."""
    from lstm_core.engine import compiled_shapes
    from lstm_core.streaming import LossRecorder

    results = {}
    for name, config in configs.items():
        already = config.shape_key in compiled_shapes()
        runs = []
        for _ in range(2):
            recorder = LossRecorder()
            with bu.Timer() as timer:
                result = lstm_core.train(config, callbacks=[recorder])
            assert recorder.count == config.epochs == result.epochs_completed, (recorder.count, config.epochs)
            runs.append(timer)
        results[name] = {
            "cold": runs[0], "warm": runs[1], "epochs": config.epochs,
            "really_cold": not already, "final_loss": float(result.losses[-1]),
        }
        bu.emit(f"  {name:<13} cold {runs[0].wall:6.2f} s wall {runs[0].cpu:6.2f} s CPU   "
                f"warm {runs[1].wall:6.3f} s wall {runs[1].cpu:6.3f} s CPU"
                f"   ({config.epochs} epochs, final loss {result.losses[-1]:.2e})")
    return results


def engine_steady(lstm_core, configs, runs):
    """Median over `runs` of train(config with STEADY_EPOCHS epochs) / STEADY_EPOCHS."""
    from lstm_core.streaming import LossRecorder

    results = {}
    for name, config in configs.items():
        steady_config = config.replace(epochs=STEADY_EPOCHS)
        walls, cpus = [], []
        for _ in range(runs):
            with bu.Timer() as timer:
                lstm_core.train(steady_config, callbacks=[LossRecorder()])
            walls.append(timer.wall / STEADY_EPOCHS)
            cpus.append(timer.cpu / STEADY_EPOCHS)
        results[name] = {"wall": bu.median(walls), "cpu": bu.median(cpus),
                         "chunk": _chunk_only(steady_config)}
    return results


def _chunk_only(config):
    """Per-epoch wall of the compiled chunk alone (no model build, callbacks or predict).

    Uses engine internals, for information only; None if they changed shape.
    """
    try:
        from lstm_core.engine import MAX_CHUNK, _compiled_for

        from lstm_core import build_model, frame_data

        compiled = _compiled_for(config)
        state = compiled.initial_state(build_model(config), config.units)
        data = compiled.tensors(frame_data(config))
        epochs = min(STEADY_EPOCHS, MAX_CHUNK)
        walls = []
        for _ in range(5):
            start = time.perf_counter()
            compiled.run(state, config, epochs, data)
            walls.append((time.perf_counter() - start) / epochs)
        return bu.median(walls)
    except Exception:  # noqa: BLE001 - informational only
        return None


def task_runs(lstm_core):
    """Each task's lesson at its default settings: a wrong and a right topology, cold and warm.

    The issue's prototype ran these with model.fit in 60-100 s each; the page needs them
    well under a second warm.
    """
    from lstm_core import ExperimentConfig

    pairs = [("delay", "one_to_one"), ("delay", "many_to_many"), ("reverse", "many_to_many"),
             ("reverse", "encoder_decoder"), ("reverse", "bidirectional"), ("memory", "many_to_many")]
    rows = []
    for task, topology in pairs:
        config = ExperimentConfig(task=task, topology=topology)
        cold = lstm_core.train(config)
        warm = [lstm_core.train(config) for _ in range(3)]
        best = min(warm, key=lambda result: result.seconds)
        rows.append([task, topology, f"{config.epochs}", f"{config.num_samples}", f"{cold.seconds:.2f}",
                     f"{cold.compile_seconds:.2f}", f"{best.seconds:.3f}", f"{best.val_mse:.2g}",
                     "solved" if best.solved else "not solved"])
    return rows


def new_shape_ratio(lstm_core):
    """Issue 12's ratio (a shape never trained before) / (the same shape again), warm process.

    Units inside a compiled bucket (6, then 7 and 8) reuse the compiled function, and so do the
    lengths of a length bucket (7, then 8); a new bucket compiles, and so does every new length
    of one-to-one (its length is its number of samples).
    The rows run in order: each says which shapes were compiled before it.
    """
    from lstm_core import ExperimentConfig

    base = ExperimentConfig(topology="many_to_many", units=6)
    lstm_core.train(base)
    again = min(lstm_core.train(base).seconds for _ in range(3))
    rows = []
    for label, config in (("units 6 → 7 (same bucket)", base.replace(units=7)),
                          ("units 6 → 8 (same bucket)", base.replace(units=8)),
                          ("units 6 → 9 (next bucket)", base.replace(units=9)),
                          ("length 5 → 6 (a bucket of its own)", base.replace(sequence_length=6)),
                          ("length 6 → 7 (new bucket: 8)", base.replace(sequence_length=7)),
                          ("length 7 → 8 (same bucket)", base.replace(sequence_length=8)),
                          ("length 8 → 7, units 7 (both in bucket)", base.replace(sequence_length=7, units=7)),
                          ("one-to-one, length 7 → 8 (its samples: no length buckets)",
                           base.replace(topology="one_to_one", sequence_length=8, batch_size=8))):
        if config.topology == "one_to_one":
            lstm_core.train(config.replace(sequence_length=7, batch_size=7))
        first = lstm_core.train(config)
        rows.append([label, f"{first.seconds:.3f}", f"{first.compile_seconds:.3f}", f"{first.seconds / again:.1f}x"])
    # The page compiles the shape on screen ahead (lstm_core.prefetch) as soon as a setting
    # changes: Train pressed a moment later finds it compiled, or partly so.
    from lstm_core import prefetch

    for label, config, pause in (("length 8 → 9, Train 0.5 s after the change", base.replace(sequence_length=9), 0.5),
                                 ("length 9 → 11, Train 2 s after the change", base.replace(sequence_length=11), 2.0)):
        prefetch.prefetch([config], source="bench")
        time.sleep(pause)
        first = lstm_core.train(config)
        rows.append([label + " (compiled ahead)", f"{first.seconds:.3f}", f"{first.compile_seconds:.3f}",
                     f"{first.seconds / again:.1f}x"])
    return again, rows


def page_draw(config):
    """The page's redraw: one Plotly loss chart updated in place, then serialised."""
    from lstm_core.plots import loss_figure, set_losses
    from lstm_core.topologies import TOPOLOGIES

    figure = loss_figure([(config.topology, TOPOLOGIES[config.topology].color)])
    stats = {"draws": 0, "seconds": 0.0}

    def draw(epochs_done, total_epochs, losses):
        start = time.perf_counter()
        set_losses(figure, 0, losses)
        figure.to_plotly_json()  # models the serialisation st.plotly_chart does
        stats["draws"] += 1
        stats["seconds"] += time.perf_counter() - start

    return draw, stats


def streaming_overhead(lstm_core, configs, pairs):
    """Warm tutorial run with the page's ThrottledCallback vs no callback, interleaved.

    The overhead is the median of the paired differences (each pair ran back to back, the
    order alternating) over the median run without a callback: pairing cancels the slow drift
    of a shared machine's load better than a difference of two medians. Computed for wall time
    and for process CPU time (which other processes' load does not inflate).
    """
    from lstm_core.streaming import ThrottledCallback

    results = {}
    for name, config in configs.items():
        with_cb, without, with_cpu, without_cpu, draws, draw_seconds = [], [], [], [], [], []
        for index in range(pairs):
            gc.collect()
            order = (True, False) if index % 2 == 0 else (False, True)
            for streaming in order:
                if streaming:
                    # The chart exists before the run on the page too: build it outside the timer.
                    draw, stats = page_draw(config)
                    callbacks = [ThrottledCallback(draw, min_interval=0.1)]
                else:
                    callbacks = []
                with bu.Timer() as timer:
                    lstm_core.train(config, callbacks=callbacks)
                if streaming:
                    with_cb.append(timer.wall)
                    with_cpu.append(timer.cpu)
                    draws.append(stats["draws"])
                    draw_seconds.append(stats["seconds"] / max(stats["draws"], 1))
                else:
                    without.append(timer.wall)
                    without_cpu.append(timer.cpu)
        base = bu.median(without)
        paired = bu.median([w - n for w, n in zip(with_cb, without)])
        paired_cpu = bu.median([w - n for w, n in zip(with_cpu, without_cpu)])
        isolated = callback_cost(config)
        results[name] = {
            "without": base, "with": bu.median(with_cb), "overhead": paired / base,
            "without_cpu": bu.median(without_cpu), "with_cpu": bu.median(with_cpu),
            "overhead_cpu": paired_cpu / bu.median(without_cpu),
            "draws": bu.median(draws), "draw_seconds": bu.median(draw_seconds),
            "isolated": isolated, "isolated_share": isolated / base,
        }
    return results


def callback_cost(config, repeats=5):
    """Seconds the page callback itself costs for one run, measured without training.

    Replays the engine's calls for `config.epochs` epochs (set_params, on_train_begin,
    on_epoch_begin/on_epoch_end per epoch, on_train_end) into a ThrottledCallback with the
    page's draw. The replay is faster than training, so the throttle draws at least as often
    as in a real run of under 0.1 s (first epoch and final). A noise-free cross-check of the
    interleaved measurement. Median of `repeats`.
    """
    from lstm_core.streaming import ThrottledCallback

    losses = np.geomspace(0.3, 1e-3, config.epochs).astype(np.float32)
    costs = []
    for _ in range(repeats):
        draw, _stats = page_draw(config)
        callback = ThrottledCallback(draw, min_interval=0.1)
        callback.set_params({"epochs": config.epochs, "steps": 1, "verbose": 0})
        start = time.perf_counter()
        callback.on_train_begin({})
        for epoch in range(config.epochs):
            callback.on_epoch_begin(epoch, None)
            callback.on_epoch_end(epoch, {"loss": float(losses[epoch])})
        callback.on_train_end({"loss": float(losses[-1])})
        costs.append(time.perf_counter() - start)
    return bu.median(costs)


def fit_cost(configs, fit_epochs):
    """The tutorial's way: build, compile Adam(lr)/mse, fit with a callback; per epoch."""
    import keras

    from lstm_core.data import frame
    from lstm_core.model import build_model
    from lstm_core.streaming import LossRecorder

    results = {}
    for name, config in configs.items():
        X, y = frame(config)
        model = build_model(config)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss="mse")
        model.fit(X, y, epochs=WARMUP_FIT_EPOCHS, batch_size=config.batch_size, verbose=0,
                  callbacks=[LossRecorder()])
        recorder = LossRecorder()
        with bu.Timer() as timer:
            model.fit(X, y, epochs=fit_epochs, batch_size=config.batch_size, verbose=0, callbacks=[recorder])
        assert recorder.count == fit_epochs
        results[name] = {"wall": timer.wall / fit_epochs, "cpu": timer.cpu / fit_epochs}
        bu.emit(f"  {name:<13} {ms(timer.wall / fit_epochs, 1)} ms/epoch wall, "
                f"{ms(timer.cpu / fit_epochs, 1)} ms/epoch CPU  ({fit_epochs} epochs)")
        del model
    return results


# --------------------------------------------------------------------------------------------
# Optional browser figures


def browser_timings(quick: bool = False):
    """Browser figures, or None.

    The browser figures (time from `streamlit run` to first paint, and Train -> final chart)
    are measured by another file, benchmarks/bench_browser.py, when present. It should define
    `browser_timings(quick=False)` (or `run()`) returning a dict {label: seconds or text}, a
    list of text lines, or None to skip. Absent file: this returns None and the section is
    skipped silently.
    """
    path = Path(__file__).with_name("bench_browser.py")
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_browser", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, "browser_timings", None) or getattr(module, "run", None)
    if function is None:
        return {"note": "benchmarks/bench_browser.py defines neither browser_timings() nor run()"}
    try:
        accepts_quick = "quick" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        accepts_quick = False
    return function(quick=quick) if accepts_quick else function()


def format_browser(result) -> list[str]:
    if isinstance(result, dict):
        width = max((len(str(k)) for k in result), default=0)
        lines = []
        for key, value in result.items():
            shown = f"{value:.2f} s" if isinstance(value, float) else str(value)
            lines.append(f"  {str(key):<{width}}  {shown}")
        return lines
    if isinstance(result, str):
        return ["  " + line for line in result.splitlines()]
    return ["  " + str(line) for line in result]


# --------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    memory = []

    import_start = time.perf_counter()
    import lstm_core
    from lstm_core import ExperimentConfig, backend

    backend.load()
    import lstm_core.streaming  # noqa: F401  (keras callbacks; part of what the page loads)
    import plotly.graph_objects  # noqa: F401

    import_seconds = time.perf_counter() - import_start
    memory.append(("after import (tensorflow, keras, plotly)", bu.rss_mb()))

    bu.emit(bu.header("bench_engine: lstm_core.train vs the tutorial's model.fit"))
    bu.emit(f"mode        {'quick' if args.quick else 'full'}: fit {args.fit_epochs} epochs after a "
            f"{WARMUP_FIT_EPOCHS}-epoch warm-up; engine steady state {args.steady_runs} x {STEADY_EPOCHS} "
            f"epochs; streaming {args.streaming_pairs} interleaved pairs")
    bu.emit(f"import      tensorflow + keras + plotly: {import_seconds:.2f} s, RSS {memory[-1][1]:.0f} MB")
    bu.emit(f"load        {bu.load_average()}  (other processes share these cores: wall times vary with it)")

    configs = {name: ExperimentConfig(topology=name) for name in TUTORIAL_TOPOLOGIES}

    bu.emit(["", "[1] Tutorial run through lstm_core.train + LossRecorder (cold = first run of the shape)"])
    tutorial = tutorial_runs(lstm_core, configs)
    memory.append(("after cold/warm runs (3 shapes compiled)", bu.rss_mb()))

    bu.emit(["", f"[2] Engine steady state (median of {args.steady_runs} runs of {STEADY_EPOCHS} epochs)"])
    steady = engine_steady(lstm_core, configs, args.steady_runs)
    bu.emit(bu.table(
        ["topology", "wall ms/epoch", "CPU ms/epoch", "chunk only ms/epoch"],
        [[name, ms(s["wall"], 4), ms(s["cpu"], 4), "n/a" if s["chunk"] is None else ms(s["chunk"], 4)]
         for name, s in steady.items()],
    ))
    bu.emit("  (chunk only: the compiled multi-epoch function alone, without model build, callbacks, predict)")

    bu.emit(["", f"[3] Streaming overhead: ThrottledCallback(draw, min_interval=0.1) vs no callback, "
                 f"warm tutorial run, median of {args.streaming_pairs} interleaved pairs"])
    streaming = streaming_overhead(lstm_core, configs, args.streaming_pairs)
    bu.emit(bu.table(
        ["topology", "no callback s", "page callback s", "overhead wall", "CPU s / s",
         "overhead CPU", "draws/run", "ms/draw", "callback alone ms", "= share"],
        [[name, f"{s['without']:.4f}", f"{s['with']:.4f}", f"{100 * s['overhead']:+.1f}%",
          f"{s['without_cpu']:.4f} / {s['with_cpu']:.4f}", f"{100 * s['overhead_cpu']:+.1f}%",
          f"{s['draws']:g}", ms(s["draw_seconds"], 2), ms(s["isolated"], 2),
          f"{100 * s['isolated_share']:.1f}%"] for name, s in streaming.items()],
    ))
    bu.emit("  (overhead = median paired difference / median without, wall and process CPU; draw = plots.set_losses on one")
    bu.emit("   loss_figure + figure.to_plotly_json(), figure built before the timer; callback alone =")
    bu.emit("   the callback's calls replayed without training, a noise-free cross-check, / no-callback median)")
    memory.append(("after engine sections", bu.rss_mb()))

    bu.emit(["", "[3b] Tasks on held-out data at their default settings (200 training sequences, 100 held out)"])
    bu.emit(bu.table(["task", "topology", "epochs", "samples", "cold s", "of which compile s", "warm s",
                      "validation MSE", "verdict"], task_runs(lstm_core)))
    bu.emit("  (the prototype's model.fit took 60-100 s per run of these; warm runs here are what a student waits for)")
    memory.append(("after task runs", bu.rss_mb()))

    again, rows = new_shape_ratio(lstm_core)
    bu.emit(["", f"[3c] A shape never trained before vs the same shape again ({again:.3f} s), many-to-many, "
                 "units 6, 1000 epochs (issue 12's goal: ratio ≤ 5)"])
    bu.emit(bu.table(["change", "first run s", "of which compile s", "ratio"], rows))

    bu.emit(["", f"[4] The tutorial's model.fit(epochs={args.fit_epochs}, verbose=0) with a callback, "
                 f"after a {WARMUP_FIT_EPOCHS}-epoch warm-up fit"])
    fit = fit_cost(configs, args.fit_epochs)
    memory.append(("after model.fit", bu.rss_mb()))

    bu.emit(["", "[5] Per-epoch cost: model.fit vs engine (ratio = fit / engine; higher is better)"])
    rows = []
    for name in configs:
        f, s, t = fit[name], steady[name], tutorial[name]
        warm_per_epoch = t["warm"].wall / t["epochs"]
        rows.append([
            name, ms(f["wall"], 2), ms(f["cpu"], 2), ms(s["wall"], 4), ms(s["cpu"], 4),
            f"{f['wall'] / s['wall']:,.0f}x", f"{f['cpu'] / s['cpu']:,.0f}x",
            ms(warm_per_epoch, 4), f"{f['wall'] / warm_per_epoch:,.0f}x",
        ])
    bu.emit(bu.table(
        ["topology", "fit wall ms", "fit CPU ms", "engine wall ms", "engine CPU ms",
         "ratio wall", "ratio CPU", "warm run ms/ep", "ratio warm"],
        rows,
    ))
    bu.emit("  (engine = steady state [2]; warm run = the second tutorial run [1] / its epochs, "
            "model build and predict included)")
    bu.emit(["", "    tutorial run (wall)   cold s   warm s   cold/warm   fit would take (est.)"])
    for name in configs:
        t = tutorial[name]
        note = "" if t["really_cold"] else "   (NOT cold: shape was compiled before)"
        bu.emit(f"    {name:<20} {t['cold'].wall:7.2f}  {t['warm'].wall:7.3f}  {t['cold'].wall / t['warm'].wall:9.0f}x"
                f"   {fit[name]['wall'] * t['epochs']:8.1f} s{note}")

    gc.collect()
    memory.append(("end", bu.rss_mb()))
    bu.emit(["", "[6] Memory (MB = 2**20 bytes)"])
    for label, value in memory:
        bu.emit(f"  RSS {label:<42} {value:8.0f} MB")
    bu.emit(f"  peak RSS (ru_maxrss){'':<27} {bu.peak_rss_mb():8.0f} MB")

    try:
        browser = browser_timings(quick=args.quick)
    except Exception as error:  # noqa: BLE001 - the optional section must not hide the rest
        browser = [f"bench_browser.py failed: {type(error).__name__}: {error}"]
    if browser is not None:
        bu.emit(["", "[7] Browser (from benchmarks/bench_browser.py)"])
        bu.emit(format_browser(browser))

    bu.emit(["", "Targets (information only; a MISS does not fail the run)"])
    misses = 0
    for name in configs:
        t, f, s = tutorial[name], fit[name], streaming[name]
        warm_ratio_cpu = f["cpu"] / (t["warm"].cpu / t["epochs"])
        warm_ratio_wall = f["wall"] / (t["warm"].wall / t["epochs"])
        checks = [
            (f"warm run per epoch >= {TARGET_RATIO:.0f}x cheaper than fit (CPU)",
             f"{warm_ratio_cpu:,.0f}x (wall {warm_ratio_wall:,.0f}x)", warm_ratio_cpu >= TARGET_RATIO),
            (f"warm run < {TARGET_WARM_SECONDS} s", f"{t['warm'].wall:.3f} s", t["warm"].wall < TARGET_WARM_SECONDS),
            (f"cold run < {TARGET_COLD_SECONDS:.0f} s", f"{t['cold'].wall:.2f} s"
             + ("" if t["really_cold"] else " (not cold)"), t["cold"].wall < TARGET_COLD_SECONDS),
            (f"streaming overhead < {100 * TARGET_STREAMING:.0f}% (CPU)",
             f"{100 * s['overhead_cpu']:+.1f}% (wall {100 * s['overhead']:+.1f}%, "
             f"callback alone {100 * s['isolated_share']:.1f}%)", s["overhead_cpu"] < TARGET_STREAMING),
        ]
        for label, value, ok in checks:
            misses += not ok
            bu.emit(f"  {bu.verdict(ok)}  {name:<13} {label:<55} {value}")
    bu.emit(f"  {misses} miss(es).  Total benchmark time {time.perf_counter() - started:.0f} s; "
            f"load now {bu.load_average()}.")
    bu.emit("  (ratio and streaming targets use process CPU time, which other processes' load does not")
    bu.emit("   inflate; warm and cold targets use wall time, what a student waits for)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
