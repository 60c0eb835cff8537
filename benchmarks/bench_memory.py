#!/usr/bin/env python
"""Does a long-lived server grow when students keep clicking Train?

    python benchmarks/bench_memory.py               # 200 models, about half a minute on 2 cores
    python benchmarks/bench_memory.py --models 500

Trains N models one after another in one process the way the page does: each run is
`lstm_core.train(config, callbacks=[ThrottledCallback(draw)])`, `draw` updating a Plotly loss
chart in place (and serialising it, as st.plotly_chart does); seeds, epochs (~150-250) and
learning rates vary, and the shapes cycle through every topology in `lstm_core.TOPOLOGIES`.
Only the last result is kept alive (like the page's session_state: the previous result is
dropped), and `gc.collect()` runs every 10 models.

Prints the resident memory (psutil) after a warm-up of 10 models (every shape compiled by
then) and every 50 models, the growth in MB and per model in KB, and PASS/MISS against
"growth < 100 MB". A MISS is information: the exit status is 0 unless the script breaks.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

import _benchutil as bu  # sets sys.path so lstm_core imports from the repository root

WARMUP_MODELS = 10
REPORT_EVERY = 50
GC_EVERY = 10
TARGET_GROWTH_MB = 100.0
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.0005)
ROW = "  {:>6}  {:>8}  {:>9}  {:>24}  {:>14}"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200, help=f"models to train in all, the {WARMUP_MODELS} warm-up ones included (default 200)")
    parser.add_argument("--distinct", type=int, default=60,
                        help="then this many runs each of a shape never trained before (default 60; 0: skip)")
    parser.add_argument("--control-only", action="store_true",
                        help="only the TensorFlow-alone control (the distinct section runs it in a fresh process)")
    args = parser.parse_args(argv)
    if args.models <= WARMUP_MODELS:
        parser.error(f"--models must be more than the {WARMUP_MODELS} warm-up models")
    return args


def _tracked_objects(rows) -> int:
    """Objects the garbage collector tracks, less this script's own table rows."""
    return len(gc.get_objects()) - len(rows)


def config_for(index: int):
    """The index-th run's settings: shapes cycle through every topology, the rest varies."""
    from lstm_core import TOPOLOGIES, ExperimentConfig

    topologies = list(TOPOLOGIES)
    return ExperimentConfig(
        topology=topologies[index % len(topologies)],
        epochs=150 + (index * 37) % 101,  # 150..250
        learning_rate=LEARNING_RATES[index % len(LEARNING_RATES)],
        seed=1000 + index,
    )


def train_like_the_page(config):
    """One click on Train: a fresh chart, the throttled callback redrawing it, the result kept."""
    import lstm_core
    from lstm_core.plots import loss_figure, set_losses
    from lstm_core.streaming import ThrottledCallback
    from lstm_core.topologies import TOPOLOGIES

    figure = loss_figure([(config.topology, TOPOLOGIES[config.topology].color)])

    def draw(epochs_done, total_epochs, losses):
        set_losses(figure, 0, losses)
        figure.to_plotly_json()  # the serialisation st.plotly_chart does

    result = lstm_core.train(config, callbacks=[ThrottledCallback(draw, min_interval=0.1)])
    return {"result": result, "figure": figure}  # what a session would keep


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.control_only:
        xla_control()
        return 0
    started = time.perf_counter()

    from lstm_core import TOPOLOGIES, backend

    backend.load()
    import lstm_core.streaming  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    from lstm_core.engine import compiled_shapes

    bu.emit(bu.header("bench_memory: training model after model in one process, the page's way"))
    bu.emit(f"load        {bu.load_average()}")
    bu.emit(f"plan        {args.models} models cycling {len(TOPOLOGIES)} shapes ({', '.join(TOPOLOGIES)}),"
            f" 150-250 epochs, ThrottledCallback(draw, 0.1);")
    bu.emit(f"            last result kept only; gc.collect() every {GC_EVERY}; baseline after "
            f"{WARMUP_MODELS} warm-up models")
    bu.emit(f"RSS after import: {bu.rss_mb():.1f} MB")
    bu.emit("")

    bu.emit(ROW.format("models", "RSS MB", "growth MB", "KB/model", "gc-tracked objs"))
    session_state = {}
    baseline = None
    rows = []
    checkpoints = []  # (models done, RSS MB) after gc.collect(), from the baseline on
    train_seconds = 0.0
    for index in range(args.models):
        config = config_for(index)
        run_start = time.perf_counter()
        session_state["last"] = train_like_the_page(config)  # the previous result is dropped here
        train_seconds += time.perf_counter() - run_start
        done = index + 1
        if done % GC_EVERY == 0:
            gc.collect()
        if done == WARMUP_MODELS:
            gc.collect()
            baseline = bu.rss_mb()
            checkpoints.append((done, baseline))
            rows.append([done, f"{baseline:.1f}", "+0.0", "(baseline)", _tracked_objects(rows)])
        elif done % REPORT_EVERY == 0 or done == args.models:
            gc.collect()
            rss = end = bu.rss_mb()
            checkpoints.append((done, rss))
            rows.append([done, f"{rss:.1f}", f"{rss - baseline:+.1f}",
                         f"{(rss - baseline) * 1024 / (done - WARMUP_MODELS):+.1f}", _tracked_objects(rows)])
        if rows and rows[-1][0] == done:
            bu.emit(ROW.format(*rows[-1]))

    growth = end - baseline  # `end`: the RSS taken at the last checkpoint, after gc.collect()
    measured = args.models - WARMUP_MODELS
    last = session_state["last"]["result"]

    bu.emit("  (growth and KB/model are measured from the baseline taken after the warm-up)")
    bu.emit("")
    bu.emit(f"{f'RSS after warm-up ({WARMUP_MODELS} models)':<33}  {baseline:8.1f} MB")
    bu.emit(f"{f'RSS at the end ({args.models} models)':<33}  {end:8.1f} MB")
    bu.emit(f"{f'growth over {measured} models':<33}  {growth:+8.1f} MB   ({growth * 1024 / measured:+.1f} KB per model)")
    half_done, half_rss = next(c for c in checkpoints if c[0] >= args.models / 2)
    if half_done < args.models:
        bu.emit(f"{f'second half ({half_done} -> {args.models})':<33}  {end - half_rss:+8.1f} MB   "
                f"({(end - half_rss) * 1024 / (args.models - half_done):+.1f} KB per model; the slope once "
                f"the allocator has settled)")
    bu.emit(f"{'peak RSS (ru_maxrss)':<33}  {bu.peak_rss_mb():8.1f} MB")
    bu.emit(f"{'compiled shapes cached':<33}  {len(compiled_shapes())}")
    bu.emit(f"{'training time':<33}  {train_seconds:.1f} s for {args.models} models "
            f"({1e3 * train_seconds / args.models:.0f} ms each, compiles included); "
            f"last run {last.config.topology}, {last.epochs_completed} epochs, loss {last.losses[-1]:.2e}")
    bu.emit("")
    ok = growth < TARGET_GROWTH_MB
    bu.emit(f"{bu.verdict(ok)}  growth < {TARGET_GROWTH_MB:.0f} MB: {growth:+.1f} MB "
            f"(information only; a MISS does not fail the run)")
    if args.distinct:
        distinct_shapes(args.distinct)
    bu.emit(f"Total benchmark time {time.perf_counter() - started:.0f} s; load now {bu.load_average()}.")
    return 0


DISTINCT_TARGET_MB_PER_200 = 300.0


def distinct_shapes(count: int) -> None:
    """Runs whose shapes were never trained before (issue 12's adversarial case): how much each
    new shape keeps, and whether dropping the compiled-shape cache gives it back."""
    import itertools

    from lstm_core import TOPOLOGIES, ExperimentConfig, engine, train

    shapes = itertools.product(range(3, 51), (3, 5, 7, 9, 11, 13), sorted(TOPOLOGIES))
    configs = [ExperimentConfig(topology=topology, sequence_length=length, units=units, epochs=20)
               for length, units, topology in itertools.islice(shapes, count)]
    gc.collect()
    before = bu.rss_mb()
    started = time.perf_counter()
    for config in configs:
        train(config)
    gc.collect()
    after = bu.rss_mb()
    with engine._cache_lock:
        engine._cache.clear()
    gc.collect()
    evicted = bu.rss_mb()
    per_run = (after - before) / count
    bu.emit("")
    bu.emit(f"{count} runs of {count} distinct shapes (topology × length × units, 20 epochs each), "
            f"{time.perf_counter() - started:.0f} s")
    bu.emit(f"  RSS {before:.0f} -> {after:.0f} MB: {after - before:+.0f} MB ({per_run:+.1f} MB a new shape); "
            f"after dropping every compiled shape and gc: {evicted:.0f} MB ({evicted - after:+.0f} MB)")
    projected = per_run * 200
    ok = projected < DISTINCT_TARGET_MB_PER_200
    bu.emit(f"{bu.verdict(ok)}  200 distinct shapes grow the process < {DISTINCT_TARGET_MB_PER_200:.0f} MB: "
            f"{projected:+.0f} MB projected (information only). XLA keeps compiled code after the cache lets go.")
    # In a fresh process: here, the allocator's free space left by the runs above would take the
    # control's allocations without growing the process, and hide what they keep.
    import subprocess

    sys.stdout.flush()
    subprocess.run([sys.executable, __file__, "--control-only"], check=False)


CONTROL_FUNCTIONS = 40


def xla_control(count: int = CONTROL_FUNCTIONS) -> None:
    """Where the memory of a dropped shape goes, without lstm_core or Keras: `count` small
    tf.functions, each a distinct shape, called once and dropped at once, with and without
    jit_compile. glibc is asked to give freed memory back (malloc_trim) before each reading, so
    what remains is held, not merely unreturned. TensorFlow's XLA keeps every compiled
    executable for the life of the process (tensorflow/compiler/jit/device_compilation_cache.h
    has no eviction; tensorflow/tensorflow#64170): so dropping a compiled shape cannot free its
    code, and a bounded memory needs a bounded number of distinct compiled programs."""
    import ctypes

    import tensorflow as tf

    trim = getattr(ctypes.CDLL("libc.so.6"), "malloc_trim", None) if sys.platform.startswith("linux") else None

    def settled_rss() -> float:
        gc.collect()
        if trim is not None:
            trim(0)
        return bu.rss_mb()

    def call_once(steps: int, width: int, jit: bool) -> None:
        weights = tf.random.stateless_normal([width, 4 * width], seed=[1, steps])

        @tf.function(jit_compile=jit)
        def step(x, w):
            def body(i, h):
                return i + 1, tf.tanh(tf.matmul(h, w)[:, :width] + tf.gather(x, [i], axis=1))
            with tf.GradientTape() as tape:
                tape.watch(w)
                _, h = tf.while_loop(lambda i, h: i < steps, body, (0, tf.zeros([8, width])),
                                     maximum_iterations=steps)
                loss = tf.reduce_sum(h)
            return loss, tape.gradient(loss, w)

        step(tf.zeros([8, steps]), weights)

    bu.emit("")
    bu.emit(f"Control, TensorFlow alone: {count} small tf.functions of distinct shapes, each called once, then dropped")
    for jit in (False, True):
        call_once(2, 2, jit)
        before = settled_rss()
        for index in range(count):
            call_once(3 + index, 3 + index % 7, jit)
        growth = settled_rss() - before
        bu.emit(f"  jit_compile={str(jit):5}  {growth:+6.0f} MB kept after every function was dropped "
                f"({1024 * growth / count:+.0f} KB a shape)")


if __name__ == "__main__":
    sys.exit(main())
