"""The code behind a run: `export_script(config)` writes a standalone Keras script that repeats it.

The script needs only NumPy and Keras and reads like the tutorial: make the data, frame it,
build the model, `compile`, `fit`, `predict`. Nothing is retyped here, so it cannot drift from
what the dashboard does:

- the data: the task's generator (a small NumPy function in `lstm_core.tasks`) and the
  topology's framing function are copied in by their source, with the module-level helpers
  and constants they use;
- the model: written from the model `build_model(config)` makes, layer by layer, with every
  argument that differs from Keras's default (the seeded initializers among them), so the
  script starts from the dashboard's initial weights;
- training: `fit` with the config's epochs, batch size and learning rate, `verbose=2`, and the
  held-out sequences as `validation_data` where the task has them.

How each layer class is written is one table, `LAYER_WRITERS`; a topology needs nothing here.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import keyword
import pprint
import re
import textwrap
import types

import numpy as np

from lstm_core import tasks as task_registry
from lstm_core.cells import CELLS
from lstm_core.config import ExperimentConfig
from lstm_core.tasks import TASKS
from lstm_core.topologies import TOPOLOGIES

# --------------------------------------------------------------------------- copying source


def _dependencies(function, seen: dict) -> None:
    """Collect `function` and the functions and constants of its module that it uses, in order."""
    module = inspect.getmodule(function)
    for name in function.__code__.co_names:
        value = getattr(module, name, None)
        if name in seen or value is None or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            _dependencies(value, seen)
        elif isinstance(value, (int, float, str, tuple)) and name.isupper():
            seen[name] = f"{name} = {value!r}\n"
    if function.__name__ not in seen:
        seen[function.__name__] = textwrap.dedent(inspect.getsource(function))


def _public(name: str) -> str:
    return name.lstrip("_")


def source_of(*functions, rename: dict[str, str] | None = None) -> str:
    """The source of the functions with what they use from their modules, private names made public.

    rename maps a function's name to the name it gets in the script.
    """
    seen: dict[str, str] = {}
    for function in functions:
        _dependencies(function, seen)
    text = "\n\n".join(block.rstrip() + "\n" for block in seen.values())
    names = {name: _public(name) for name in seen}
    names.update(rename or {})
    for old, new in names.items():
        if old != new:
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
    return text


# --------------------------------------------------------------------------- writing the model

# Config entries never written: Bidirectional sets zero_output_for_mask on its layers itself.
_NOT_WRITTEN = ("name", "zero_output_for_mask")
LINE_LENGTH = 99


def _literal(value) -> str:
    """A config value as Python source: numbers, strings, tuples and Keras initializers."""
    if isinstance(value, dict) and value.get("module") == "keras.initializers":
        import keras

        initializer_class = getattr(keras.initializers, value["class_name"])
        defaults = initializer_class().get_config()
        arguments = {key: item for key, item in value["config"].items() if defaults.get(key) != item}
        return f"keras.initializers.{value['class_name']}({', '.join(_keywords(arguments))})"
    if isinstance(value, str):
        return json.dumps(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return repr(tuple(value))
    raise ValueError(f"cannot write {value!r} into a script")


def _keywords(arguments: dict) -> list[str]:
    return [f"{key}={_literal(value)}" for key, value in arguments.items()]


def _changed(layer, template, skip=()) -> dict:
    """The config entries of `layer` that differ from those of `template` (a default layer)."""
    config, defaults = layer.get_config(), template.get_config()
    return {
        key: value for key, value in config.items()
        if key not in (*_NOT_WRITTEN, *skip) and defaults.get(key, object()) != value
    }


def _call(function: str, arguments: list[str], suffix: str = "", pack: bool = False, prefix: str = "") -> str:
    """`prefix` + `function(arguments)suffix` on one line when it fits, else indented below: one
    argument per line, or with `pack` as many per line as fit."""
    line = f"{function}({', '.join(arguments)}){suffix}"
    if len(prefix) + len(line) <= LINE_LENGTH:
        return line
    if not pack:
        inner = "".join(f"    {argument},\n" for argument in arguments)
        return f"{function}(\n{inner}){suffix}"
    rows = [""]
    for argument in arguments:
        if rows[-1] and len(rows[-1]) + len(argument) + 6 > LINE_LENGTH:
            rows.append("")
        rows[-1] += f"{argument}, "
    inner = "".join(f"    {row.rstrip()}\n" for row in rows)
    return f"{function}(\n{inner}){suffix}"


# A writer gives (Keras class path, positional and keyword arguments as source, sublayers):
# sublayers (a wrapper's layers) are written first, as variables the arguments refer to.


def _units_layer(layer, sublayer_variables):
    # LSTM, GRU, SimpleRNN and Dense: units first, then what differs from Keras's defaults.
    changed = _changed(layer, type(layer)(layer.units), skip=("units",))
    return [str(layer.units), *_keywords(changed)]


def _repeat_vector(layer, sublayer_variables):
    return [str(layer.n)]


def _time_distributed(layer, sublayer_variables):
    return [sublayer_variables[0]]


def _bidirectional(layer, sublayer_variables):
    import keras

    changed = _changed(layer, keras.layers.Bidirectional(type(layer.forward_layer)(1)),
                       skip=("layer", "backward_layer"))
    # Keras would give the backward layer a copy of the forward one's initializers, seeds and
    # all; the dashboard seeds each direction on its own, so the script passes both layers.
    return [sublayer_variables[0], f"backward_layer={sublayer_variables[1]}", *_keywords(changed)]


def _sublayers(layer) -> list:
    if hasattr(layer, "forward_layer"):
        return [layer.forward_layer, layer.backward_layer]
    inner = getattr(layer, "layer", None)
    return [inner] if inner is not None else []


# Keras layer class name -> its arguments as source. A class missing here cannot be exported.
LAYER_WRITERS = {
    "LSTM": _units_layer,
    "GRU": _units_layer,
    "SimpleRNN": _units_layer,
    "Dense": _units_layer,
    "RepeatVector": _repeat_vector,
    "TimeDistributed": _time_distributed,
    "Bidirectional": _bidirectional,
}

_RESERVED = {"keras", "np", "os", "model", "history", "predictions", "X", "y", "X_val", "y_val", "frame",
             "target", "prediction"}


def _variable(name: str, taken: set) -> str:
    variable = re.sub(r"\W", "_", name)
    if keyword.iskeyword(variable) or not variable.isidentifier():
        variable = f"layer_{variable}"
    while variable in _RESERVED or variable in taken:
        variable += "_"
    taken.add(variable)
    return variable


def _write_layer(layer, lines: list[str], taken: set, suffix: str, variable: str) -> None:
    """Append the statement(s) making `layer`: its sublayers first, then `variable = Layer(...)suffix`."""
    writer = LAYER_WRITERS.get(type(layer).__name__)
    if writer is None:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) cannot be exported: "
                         f"known {', '.join(LAYER_WRITERS)}")
    sublayer_variables = []
    for sublayer in _sublayers(layer):
        sublayer_variable = _variable(f"{sublayer.name}_layer", taken)
        _write_layer(sublayer, lines, taken, "", sublayer_variable)
        sublayer_variables.append(sublayer_variable)
    arguments = [*writer(layer, sublayer_variables), f"name={_literal(layer.name)}"]
    prefix = f"{variable} = "
    lines.append(prefix + _call(f"keras.layers.{type(layer).__name__}", arguments, suffix, prefix=prefix))


def write_model(model) -> str:
    """Source that builds a functional model like `model`, layer by layer, named as in it."""
    variables, taken, lines = {}, set(), []
    for layer in model.layers:
        variable = _variable(layer.name, taken)
        if type(layer).__name__ == "InputLayer":
            shape = tuple(layer.get_config()["batch_shape"][1:])
            lines.append(f"{variable} = keras.Input(shape={shape!r}, name={_literal(layer.name)})")
        else:
            inbound = layer.input
            if isinstance(inbound, (list, tuple)) or isinstance(layer.output, (list, tuple)):
                raise ValueError(f"layer {layer.name!r} takes or gives several tensors: not exportable")
            _write_layer(layer, lines, taken, f"({variables[id(inbound)]})", variable)
        variables[id(layer.output)] = variable
    inputs, outputs = variables[id(model.inputs[0])], variables[id(model.outputs[0])]
    lines.append(f"model = keras.Model({inputs}, {outputs}, name={_literal(model.name)})")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the data


def _assignment(name: str, values: tuple) -> str:
    """`NAME = (...)`, wrapped under the opening parenthesis when long."""
    prefix = f"{name} = "
    text = pprint.pformat(values, width=LINE_LENGTH - len(prefix), compact=True)
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def _data_source(config: ExperimentConfig) -> tuple[str, str, bool]:
    """(function sources, the lines drawing the training and validation sequences, has validation)."""
    task = TASKS[config.task]
    train_count, val_count = config.sequence_counts
    n = "SEQUENCE_LENGTH"
    if task.generator is None:  # the user's own numbers: the values are the data
        mode = _literal(config.custom_mode)
        _, held_out = task_registry.custom_split(config.custom_values, config.sequence_length, config.custom_mode)
        functions = source_of(task_registry.scaled_series, task_registry.custom_split, task_registry.custom_windows)
        lines = [
            _assignment("YOUR_VALUES", tuple(config.custom_values)),
            "# Scaled into [0, 1] as one series, then split (the last part held out when the series is",
            "# long enough) and cut into windows of SEQUENCE_LENGTH values.",
            "scaled = tuple(scaled_series(YOUR_VALUES))",
            f"train_values, held_out_values = custom_split(scaled, {n}, {mode})",
            f"train_inputs, train_targets = custom_windows(train_values, {n}, {mode})",
        ]
        if held_out:
            lines.append(f"val_inputs, val_targets = custom_windows(held_out_values, {n}, {mode})")
        return functions, "\n".join(lines) + "\n", bool(held_out)
    name = task.generator.__name__
    params = "".join(f", {param}={getattr(config, param)!r}" for param in task.params)
    lines = [f"NUM_SEQUENCES = {train_count}  # training sequences" + (f"; {val_count} more are held out" if val_count else "")]
    if val_count:
        lines += [
            "# Two generators keyed by the seed, as the dashboard draws them: the held-out sequences",
            "# never depend on how many training sequences there are.",
            "train_rng, held_out_rng = np.random.default_rng([SEED, 0]), np.random.default_rng([SEED, 1])",
            f"train_inputs, train_targets = {name}(train_rng, NUM_SEQUENCES, {n}{params})",
            f"val_inputs, val_targets = {name}(held_out_rng, {val_count}, {n}{params})",
        ]
    else:
        lines += [
            "train_rng = np.random.default_rng([SEED, 0])",
            f"train_inputs, train_targets = {name}(train_rng, NUM_SEQUENCES, {n}{params})",
        ]
    return source_of(task.generator), "\n".join(lines) + "\n", bool(val_count)


# --------------------------------------------------------------------------- the script

_HEADER = '''\
"""{title}

The run behind the LSTM explorer's page, written the tutorial's way:
{settings}.
It needs only NumPy and Keras (TensorFlow backend); generated for keras {keras_version}.
Run it with:  python {filename}
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

SEED = {seed}  # decides the random sequences and, through each initializer's seed, the initial weights
SEQUENCE_LENGTH = {sequence_length}
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}
LEARNING_RATE = {learning_rate!r}
'''


def script_filename(config: ExperimentConfig) -> str:
    """A file name for the script: task, topology and cell."""
    return f"{config.task}_{config.topology}_{config.cell}.py"


def export_script(config: ExperimentConfig, model=None) -> str:
    """A standalone Python script (NumPy + Keras only) that repeats the config's run with `fit`.

    model: the run's model, if at hand (its architecture and initializers are what is written;
    its trained weights are not used); otherwise `build_model(config)` makes one.
    """
    if model is None:
        from lstm_core.model import build_model

        model = build_model(config)
    task, topology, cell = TASKS[config.task], TOPOLOGIES[config.topology], CELLS[config.cell]
    functions, draw, has_validation = _data_source(config)
    frame_source = source_of(topology.frame, rename={topology.frame.__name__: "frame"})
    full_batch = config.batch_size >= config.num_samples
    settings = ", ".join(f"{name}={getattr(config, name)!r}" for name in ("task", "topology", "cell", "units"))
    parts = [
        _HEADER.format(
            title=f"{task.label}: the {topology.label} topology with {cell.label} layers.",
            settings=settings, keras_version=importlib.metadata.version("keras"),
            filename=script_filename(config), seed=config.seed, sequence_length=config.sequence_length,
            epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
        ),
        "\n# --- The data: the task's sequences, as (sequences, SEQUENCE_LENGTH) arrays.\n",
        f"# {task.summary}\n\n",
        functions,
        "\n\n",
        draw,
        "train_inputs, train_targets = train_inputs.astype(np.float32), train_targets.astype(np.float32)\n",
    ]
    if has_validation:
        parts.append("val_inputs, val_targets = val_inputs.astype(np.float32), val_targets.astype(np.float32)\n")
    parts += [
        "\n# --- Framing: X as (samples, timesteps, features) and y, as this topology sees them.\n\n",
        frame_source,
        "\n\nX, y = frame(train_inputs, train_targets)\n",
    ]
    if has_validation:
        parts.append("X_val, y_val = frame(val_inputs, val_targets)  # held out: never trained on\n")
    parts.append('print("X", X.shape, "y", y.shape)\n')
    parts += [
        "\n# --- The model. Every initializer has its own seed, so these are the dashboard's initial\n"
        "# weights (Keras's defaults otherwise: zero biases, an LSTM's forget-gate bias at one).\n\n",
        write_model(model),
        "model.summary()\n",
        'print("parameters:", model.count_params())\n',
        "\noptimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)\n",
        'model.compile(loss="mean_squared_error", optimizer=optimizer)\n',
    ]
    samples = f"{config.num_samples} sample{'s' if config.num_samples != 1 else ''}"
    if full_batch:
        parts.append(
            f"# Every update sees all the data ({samples} in one batch), so their order cannot\n"
            "# matter: no shuffling. This is exactly the dashboard's run, loss for loss.\n"
        )
    else:
        parts.append(
            f"# {samples} in batches of {config.batch_size}, reshuffled every epoch. fit shuffles with\n"
            "# Keras's global random generator, the dashboard with its own generator keyed by\n"
            "# (seed, epoch): the batches differ, so the curve differs in detail, not in kind. To make\n"
            "# this script repeat itself exactly, seed Keras's global generator before fit (the\n"
            "# seeding function in keras.utils; fine in a script of your own, the dashboard avoids\n"
            "# it because many sessions share one process).\n"
        )
    fit_arguments = ["X", "y", "epochs=EPOCHS", "batch_size=BATCH_SIZE", f"shuffle={not full_batch}", "verbose=2"]
    if has_validation:
        fit_arguments.append("validation_data=(X_val, y_val)")
    parts.append(f"history = {_call('model.fit', fit_arguments, pack=True, prefix='history = ')}\n")
    # Samples stay in sequence order, so predictions.reshape(sequences, -1) gives one row per sequence.
    which, X_shown, targets = (
        ("held-out", "X_val", "val_targets") if has_validation else ("training", "X", "train_targets")
    )
    parts += [
        "\n# --- The result.\n",
        'print("final loss:", history.history["loss"][-1])\n',
        'print("final val_loss:", history.history["val_loss"][-1])\n' if has_validation else "",
        f"# Samples stay in sequence order: one row of predictions per sequence.\n",
        f"predictions = model.predict({X_shown}, verbose=0).reshape(len({targets}), -1)\n",
        f'print("first {which} sequence: target → prediction")\n',
        f"for target, prediction in zip({targets}[0], predictions[0]):\n",
        '    print(f"{target:6.3f} → {prediction:6.3f}")\n',
    ]
    return "".join(parts)
