"""The shape trace against Keras's own summary: every layer's output shape and parameters."""

import re

import keras
import numpy as np
import pytest

from lstm_core import shape_trace as st


def _input(timesteps=5):
    return keras.Input((timesteps, 1), name="sequence")


def one_to_one():
    inputs = _input(1)
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(5)(inputs))), (5, 1, 1), (5, 1)


def many_to_one():
    inputs = _input()
    return keras.Model(inputs, keras.layers.Dense(5)(keras.layers.GRU(4)(inputs))), (1, 5, 1), (1, 5)


def many_to_many():
    inputs = _input()
    hidden = keras.layers.SimpleRNN(3, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.TimeDistributed(keras.layers.Dense(1))(hidden)), (1, 5, 1), (1, 5, 1)


def many_to_many_dense():
    inputs = _input()
    hidden = keras.layers.LSTM(5, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden)), (1, 5, 1), (1, 5, 1)


def stacked():
    inputs = _input(6)
    lower = keras.layers.LSTM(4, return_sequences=True)(inputs)
    upper = keras.layers.LSTM(3, return_sequences=True)(lower)
    return keras.Model(inputs, keras.layers.TimeDistributed(keras.layers.Dense(1))(upper)), (200, 6, 1), (200, 6, 1)


def encoder_decoder():
    inputs = _input(6)
    encoded = keras.layers.GRU(8)(inputs)
    decoded = keras.layers.GRU(8, return_sequences=True)(keras.layers.RepeatVector(6, name="repeat_vector")(encoded))
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(1), name="time_distributed")(decoded)
    return keras.Model(inputs, outputs), (200, 6, 1), (200, 6, 1)


def bidirectional():
    inputs = _input(6)
    both = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), name="bidirectional")(inputs)
    return keras.Model(inputs, keras.layers.TimeDistributed(keras.layers.Dense(1))(both)), (200, 6, 1), (200, 6, 1)


MODELS = [one_to_one, many_to_one, many_to_many, many_to_many_dense, stacked, encoder_decoder, bidirectional]


def summary_rows(model, monkeypatch):
    """(layer name, class) -> (output shape text, params) parsed from model.summary()."""
    monkeypatch.setenv("COLUMNS", "250")  # rich would cut the table at 80 columns
    lines = []
    model.summary(print_fn=lambda text, line_break=True: lines.append(text), line_length=200)
    rows = {}
    for line in "\n".join(lines).splitlines():
        match = re.match(r"│ (\S+) \((\w+)\)\s*│ (\(.*?\))\s*│\s*([\d,]+) │", line)
        if match:
            rows[match.group(1)] = (match.group(3), int(match.group(4).replace(",", "")))
    return rows


@pytest.mark.parametrize("make", MODELS, ids=lambda make: make.__name__)
def test_shapes_and_parameters_match_keras(make, monkeypatch):
    model, x_shape, y_shape = make()
    steps = st.shape_trace(model, x_shape, y_shape, raw_shape=(x_shape[0], 5))
    layers = [step for step in steps if step.kind == "layer"]
    assert [step.name for step in layers] == [layer.name for layer in model.layers]
    summary = summary_rows(model, monkeypatch)
    assert set(summary) == {layer.name for layer in model.layers}
    for step, layer in zip(layers, model.layers):
        assert step.shape == tuple(layer.output.shape)
        assert step.parameters == layer.count_params()
        shape_text, params = summary[layer.name]
        assert step.shape_text.replace("batch", "None") == shape_text
        assert step.parameters == params
        if params:
            assert step.formula.endswith(f"= {params}")
    assert sum(step.parameters for step in layers) == model.count_params()
    assert [step.title for step in steps if step.kind == "data"] == ["sequences", "X", "y"]
    assert steps[1].shape == x_shape and steps[-1].shape == y_shape
    # The model's output, batch axis filled in with X's samples, has y's shape.
    assert (x_shape[0], *layers[-1].shape[1:]) == tuple(y_shape)


def test_notes_say_what_each_layer_does_to_the_shape():
    model, x_shape, y_shape = encoder_decoder()
    notes = {step.name: step.note for step in st.shape_trace(model, x_shape, y_shape)}
    encoder, decoder = [layer.name for layer in model.layers if isinstance(layer, keras.layers.GRU)]
    assert "drops the time axis" in notes[encoder] and "reads 6 time steps" in notes[encoder]
    assert "keeps the time axis" in notes[decoder]
    assert "adds a time axis back" in notes["repeat_vector"] and "6 steps" in notes["repeat_vector"]
    assert "same Dense(1) to each of the 6 steps" in notes["time_distributed"]

    model, x_shape, y_shape = bidirectional()
    (bi,) = [step for step in st.shape_trace(model, x_shape, y_shape) if step.name == "bidirectional"]
    assert bi.shape == (None, 6, 8) and "4 + 4 = 8 features" in bi.note
    assert bi.title == "Bidirectional(LSTM(4, return_sequences=True))"
    assert bi.formula.startswith("forward kernel 1×16 + forward recurrent_kernel 4×16 + forward bias 16 + backward kernel")

    model, x_shape, y_shape = many_to_many_dense()
    (dense,) = [step for step in st.shape_trace(model, x_shape, y_shape) if step.title == "Dense(1)"]
    assert "same as TimeDistributed(Dense)" in dense.note


def test_lstm_formula_spells_out_the_weights():
    model, x_shape, y_shape = one_to_one()
    (lstm,) = [step for step in st.shape_trace(model, x_shape, y_shape) if step.title.startswith("LSTM")]
    # 4 gates · 5 units: kernel 1×20, recurrent kernel 5×20, bias 20 = 20 + 100 + 20.
    assert lstm.formula == "kernel 1×20 + recurrent_kernel 5×20 + bias 20 = 140"


def test_unknown_layers_still_get_a_box():
    inputs = _input()
    hidden = keras.layers.LSTM(3, return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Flatten(name="flatten")(hidden))
    (flatten,) = [step for step in st.shape_trace(model, (1, 5, 1), (1, 15)) if step.name == "flatten"]
    assert flatten.shape == (None, 15) and "Flatten" in flatten.note


def test_figure_draws_a_box_per_step_and_an_arrow_between():
    model, x_shape, y_shape = encoder_decoder()
    steps = st.shape_trace(model, x_shape, y_shape, raw_shape=(200, 6))
    figure = st.shape_figure(steps)
    boxes = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    arrows = [note for note in figure.layout.annotations if note.showarrow]
    assert len(boxes) == len(steps) and len(arrows) == len(steps) - 1
    texts = [note.text for note in figure.layout.annotations if not note.showarrow]
    assert any("(batch, 6, 8)" in text for text in texts)
    assert any("(200, 6, 1)" in text for text in texts)
    # Boxes go top to bottom without overlapping.
    tops = [box.y1 for box in boxes]
    assert all(a > b for a, b in zip(tops, tops[1:]))
    assert all(upper.y0 > lower.y1 for upper, lower in zip(boxes, boxes[1:]))
    # Offline: no images, and nothing in the figure points outside the machine.
    assert not figure.layout.images
    assert "http" not in figure.to_json()
    hover = figure.data[0].hovertext
    assert len(hover) == len(steps) and any("recurrent_kernel" in text for text in hover)


@pytest.mark.parametrize("task", ["echo", "delay"])
@pytest.mark.parametrize("topology", ["one_to_one", "many_to_one", "encoder_decoder", "bidirectional", "one_to_many"])
def test_for_a_config_it_follows_every_setting(task, topology):
    from lstm_core import ExperimentConfig, build_model

    config = ExperimentConfig(task=task, topology=topology, cell="gru", sequence_length=7, units=3)
    steps = st.shape_trace_for(config)
    sequences, X, *layers, y = steps
    assert sequences.shape == (config.sequence_counts[0], 7)
    assert X.shape == config.x_shape and y.shape == config.y_shape
    model = build_model(config)
    assert [step.name for step in layers] == [layer.name for layer in model.layers]
    assert [step.parameters for step in layers] == [layer.count_params() for layer in model.layers]
    assert [step.shape for step in layers] == [tuple(layer.output.shape) for layer in model.layers]
    assert layers[1].shape[-1] == (6 if topology == "bidirectional" else 3)  # the units setting shows
