"""The exported script: standalone, the dashboard's model and data, and the engine's losses.

The expensive check runs every generated script (every topology × cell, on the echo and on a
random task with held-out data) in ONE isolated Python process, which cannot import the
project, while this process trains the same configs with the engine; then it compares.
"""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import lstm_core
from lstm_core import ExperimentConfig, build_model
from lstm_core.cells import CELLS
from lstm_core.export import export_script, source_of, write_model
from lstm_core.tasks import TASKS, make_data
from lstm_core.topologies import TOPOLOGIES

EPOCHS = 4


def full_batch(config: ExperimentConfig) -> ExperimentConfig:
    return config.replace(batch_size=config.num_samples)


def configs():
    """Every topology × cell on the echo and on a random task, full batch (so losses must agree)."""
    for topology in TOPOLOGIES:
        for cell in CELLS:
            yield full_batch(ExperimentConfig(task="echo", topology=topology, cell=cell, epochs=EPOCHS))
            yield full_batch(ExperimentConfig(task="delay", topology=topology, cell=cell, epochs=EPOCHS,
                                              num_sequences=12, sequence_length=5, units=4, seed=3))


# The runner executes each script as __main__, records what it printed and every warning.
RUNNER = textwrap.dedent(
    '''
    import contextlib, io, json, runpy, sys, traceback, warnings
    results = {}
    for path in sys.argv[1:]:
        output = io.StringIO()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with contextlib.redirect_stdout(output):
                    runpy.run_path(path, run_name="__main__")
                error = None
            except BaseException:
                error = traceback.format_exc()
        results[path] = {
            "stdout": output.getvalue(),
            "error": error,
            "warnings": [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught],
            "imported_project": any(name.startswith("lstm_core") for name in sys.modules),
        }
    print(json.dumps(results))
    '''
)


def printed(stdout: str, label: str) -> float:
    (line,) = [line for line in stdout.splitlines() if line.startswith(label + ":")]
    return float(line.split(":", 1)[1])


def test_every_script_repeats_the_engines_run(tmp_path):
    all_configs = list(configs())
    # One more, with mini-batches: it must run cleanly too (its batches are fit's own).
    mini_batch = ExperimentConfig(task="reverse", topology="encoder_decoder", cell="gru", epochs=2,
                                  num_sequences=40, batch_size=16)
    paths = []
    for index, config in enumerate([*all_configs, mini_batch]):
        path = tmp_path / f"run_{index:02d}.py"
        path.write_text(export_script(config))
        paths.append(str(path))
    (tmp_path / "runner.py").write_text(RUNNER)
    # -I: isolated from the environment and the project (no cwd, no PYTHONPATH on sys.path).
    process = subprocess.Popen(
        [sys.executable, "-I", "runner.py", *paths], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    try:
        engine = [lstm_core.train(config) for config in all_configs]  # meanwhile, on the other core
        stdout, stderr = process.communicate(timeout=900)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]
    results = json.loads(stdout.strip().splitlines()[-1])
    for path, config, result in zip(paths, all_configs, engine):
        run = results[path]
        where = f"{config.task}/{config.topology}/{config.cell}"
        assert run["error"] is None, f"{where}: {run['error']}"
        assert run["warnings"] == [], f"{where}: {run['warnings']}"
        assert not run["imported_project"], where
        assert int(printed(run["stdout"], "parameters")) == result.model.count_params(), where
        assert printed(run["stdout"], "final loss") == pytest.approx(float(result.losses[-1]), rel=1e-4), where
        assert f"Epoch {EPOCHS}/{EPOCHS}" in run["stdout"], where  # verbose=2 logs every epoch
        if result.has_validation:
            assert printed(run["stdout"], "final val_loss") == pytest.approx(
                float(result.val_losses[-1]), rel=1e-4), where
    run = results[paths[-1]]
    assert run["error"] is None and run["warnings"] == [], run
    assert np.isfinite(printed(run["stdout"], "final val_loss"))
    assert int(printed(run["stdout"], "parameters")) == build_model(mini_batch).count_params()


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
@pytest.mark.parametrize("cell", list(CELLS))
def test_written_model_has_the_dashboards_initial_weights(topology, cell):
    config = ExperimentConfig(topology=topology, cell=cell, units=3, sequence_length=4)
    reference = build_model(config)
    namespace = {"keras": keras}
    exec(write_model(reference), namespace)  # noqa: S102 - the code under test is generated source
    model = namespace["model"]
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in reference.layers]
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert model.count_params() == reference.count_params()


@pytest.mark.parametrize("task", [key for key, task in TASKS.items() if task.generator is not None])
def test_embedded_generator_draws_the_dashboards_sequences(task):
    config = ExperimentConfig(task=task, topology="many_to_many", sequence_length=6)
    generator = TASKS[task].generator
    namespace = {"np": np}
    exec(source_of(generator), namespace)  # noqa: S102
    params = {name: getattr(config, name) for name in TASKS[task].params}
    inputs, targets = namespace[generator.__name__](np.random.default_rng([config.seed, 0]),
                                                    config.sequence_counts[0], 6, **params)
    data = make_data(config)
    np.testing.assert_array_equal(inputs.astype(np.float32), data.train_inputs)
    np.testing.assert_array_equal(targets.astype(np.float32), data.train_targets)


def test_custom_series_script_uses_the_dashboards_windows(tmp_path):
    values = tuple(float(v) for v in np.round(np.sin(np.arange(40) / 3.0) * 5 + 10, 2))
    config = ExperimentConfig(task="custom", topology="many_to_many", custom_values=values, sequence_length=6,
                              epochs=1)
    script = export_script(config)
    # Run only the data part of the script (up to the model) and compare with the dashboard's data.
    data_part = script.split("# --- The model.")[0]
    namespace = {}
    exec(data_part, namespace)  # noqa: S102
    X, y = lstm_core.data.frame(config)
    np.testing.assert_array_equal(namespace["X"], X)
    np.testing.assert_array_equal(namespace["y"], y)
    framed = lstm_core.data.frame_data(config)
    np.testing.assert_array_equal(namespace["X_val"], framed.X_val)


def test_source_of_brings_helpers_and_constants_along():
    from lstm_core import tasks

    text = source_of(tasks.custom_split)
    namespace = {}
    exec(text, namespace)  # noqa: S102
    assert namespace["CUSTOM_VALIDATION_FRACTION"] == tasks.CUSTOM_VALIDATION_FRACTION
    assert namespace["custom_split"](tuple(range(20)), 3, "next") == tasks.custom_split(tuple(range(20)), 3, "next")
    frame = TOPOLOGIES["one_to_one"].frame
    text = source_of(frame, rename={frame.__name__: "frame"})
    namespace = {"np": np}
    exec(text, namespace)  # noqa: S102
    X, y = namespace["frame"](np.ones((2, 3)), np.zeros((2, 3)))
    assert X.shape == (6, 1, 1) and y.shape == (6, 1) and X.dtype == np.float32
