"""The inside view against Keras: h_t, c_t and the final states of every cell, in every wiring."""

import keras
import numpy as np
import pytest

from lstm_core import inside

CELL_CLASSES = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}
TIMESTEPS, FEATURES, SAMPLES = 6, 2, 3


def seeded(cell, units, seed, **kwargs):
    """A recurrent layer whose every initializer is seeded (no global seed)."""
    return CELL_CLASSES[cell](
        units,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
        **kwargs,
    )


def dense(units, seed):
    return keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(seed=seed))


def plain(cell):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    return keras.Model(inputs, dense(1, 3)(seeded(cell, 4, 1)(inputs)))


def stacked(cell):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    first = seeded(cell, 4, 1, return_sequences=True)(inputs)
    return keras.Model(inputs, dense(2, 5)(seeded(cell, 3, 3)(first)))


def bidirectional(cell):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    both = keras.layers.Bidirectional(seeded(cell, 3, 1, return_sequences=True))(inputs)
    return keras.Model(inputs, keras.layers.TimeDistributed(dense(1, 5))(both))


def bidirectional_last(cell):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    both = keras.layers.Bidirectional(seeded(cell, 3, 1))(inputs)
    return keras.Model(inputs, dense(TIMESTEPS, 5)(both))


def encoder_decoder(cell):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    encoded = seeded(cell, 4, 1)(inputs)
    repeated = keras.layers.RepeatVector(TIMESTEPS)(encoded)
    decoded = seeded(cell, 4, 3, return_sequences=True)(repeated)
    return keras.Model(inputs, keras.layers.TimeDistributed(dense(1, 5))(decoded))


def state_handoff(cell):
    """Encoder states passed to the decoder as initial_state (the seq2seq way)."""
    inputs = keras.Input((TIMESTEPS, FEATURES))
    encoder_out = seeded(cell, 4, 1, return_state=True)(inputs)
    states = encoder_out[1:]
    repeated = keras.layers.RepeatVector(TIMESTEPS)(encoder_out[0])
    decoded = seeded(cell, 4, 3, return_sequences=True)(repeated, initial_state=list(states))
    return keras.Model(inputs, dense(1, 5)(decoded))


def backwards(cell):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    return keras.Model(inputs, dense(1, 3)(seeded(cell, 4, 1, go_backwards=True, return_sequences=True)(inputs)))


WIRINGS = {
    "plain": plain,
    "stacked": stacked,
    "bidirectional": bidirectional,
    "bidirectional_last": bidirectional_last,
    "encoder_decoder": encoder_decoder,
    "state_handoff": state_handoff,
    "backwards": backwards,
}
# Layers per wiring: traces expected (a Bidirectional gives two).
EXPECTED_TRACES = {"plain": 1, "stacked": 2, "bidirectional": 2, "bidirectional_last": 2,
                   "encoder_decoder": 2, "state_handoff": 2, "backwards": 1}


def scramble(model, seed):
    """Non-trivial weights: every weight (biases included) drawn anew, seeded."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def batch(seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (SAMPLES, TIMESTEPS, FEATURES)).astype(np.float32)


def keras_reference(trace, original_layer):
    """The same cell as a fresh Keras layer with return_sequences and return_state, same weights."""
    config = original_layer.get_config()
    config.update(return_sequences=True, return_state=True, go_backwards=trace.direction == "backward", name=None)
    layer = type(original_layer).from_config(config)
    inputs = trace.inputs.astype(np.float32)
    initial = [values[:, trace.order[0]] for values in trace.previous.values()]
    has_initial = any(np.any(value != 0) for value in initial)
    outputs = layer(inputs, initial_state=[v.astype(np.float32) for v in initial] if has_initial else None)
    layer.set_weights(original_layer.get_weights())
    outputs = layer(inputs, initial_state=[v.astype(np.float32) for v in initial] if has_initial else None)
    outputs = [np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64) for value in outputs]
    sequence = outputs[0]
    if trace.direction == "backward":  # Keras gives a backwards layer's outputs in reading order
        sequence = sequence[:, ::-1]
    return sequence, outputs[1:]


def rnn_of(model, trace):
    layer = model.get_layer(trace.layer)
    if hasattr(layer, "forward_layer"):
        return layer.forward_layer if trace.direction == "forward" else layer.backward_layer
    return layer


@pytest.mark.parametrize("cell", list(CELL_CLASSES))
@pytest.mark.parametrize("wiring", list(WIRINGS))
def test_hidden_and_cell_states_equal_keras(cell, wiring):
    model = scramble(WIRINGS[wiring](cell), seed=11)
    traces = inside.trace_model(model, batch())
    assert len(traces) == EXPECTED_TRACES[wiring]
    for trace in traces:
        assert trace.cell == cell
        assert trace.hidden.shape == (SAMPLES, TIMESTEPS, trace.units)
        sequence, final_states = keras_reference(trace, rnn_of(model, trace))
        np.testing.assert_allclose(trace.hidden, sequence, atol=1e-6, rtol=0)
        final = trace.final_states()
        np.testing.assert_allclose(final["hidden"], final_states[0], atol=1e-6, rtol=0)
        if cell == "lstm":
            # return_state gives [h, c]: the last c_t is the cell state Keras carries on.
            np.testing.assert_allclose(final["cell"], final_states[1], atol=1e-6, rtol=0)
        else:
            assert trace.cell_state is None and len(final_states) == 1
        assert np.abs(trace.hidden).max() > 0.05  # the weights really are non-trivial


@pytest.mark.parametrize("cell", list(CELL_CLASSES))
@pytest.mark.parametrize("wiring", list(WIRINGS))
def test_what_leaves_each_layer_is_what_keras_outputs(cell, wiring):
    """Inside the real model (not a copy): the h that reach the next layer are the layer's output."""
    model = scramble(WIRINGS[wiring](cell), seed=5)
    X = batch(1)
    traces = inside.trace_model(model, X)
    names = list(dict.fromkeys(trace.layer for trace in traces))
    probe = keras.Model(model.input, [model.get_layer(name).output for name in names])
    outputs = probe(X)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    for name, output in zip(names, outputs):
        output = output[0] if isinstance(output, (list, tuple)) else output  # return_state: sequence first
        actual = np.asarray(keras.ops.convert_to_numpy(output), dtype=np.float64)
        parts = []
        for trace in (t for t in traces if t.layer == name):
            leaving = trace.hidden[:, trace.reaches_next_layer()]
            if not trace.return_sequences:
                leaving = leaving[:, 0]
            elif trace.direction == "backward" and len(traces) == 1:
                leaving = leaving[:, ::-1]  # a lone go_backwards layer outputs in reading order
            parts.append(leaving)
        np.testing.assert_allclose(np.concatenate(parts, axis=-1), actual, atol=1e-6, rtol=0)


def test_inputs_of_later_layers_come_from_the_model():
    model = scramble(encoder_decoder("lstm"), seed=2)
    X = batch(2)
    encoder, decoder = inside.trace_model(model, X)
    np.testing.assert_allclose(encoder.inputs, X, atol=0)
    # The decoder reads the encoder's last h at every step (RepeatVector).
    for t in range(TIMESTEPS):
        np.testing.assert_allclose(decoder.inputs[:, t], encoder.final_states()["hidden"], atol=1e-6)
    assert encoder.readers == ("repeat_vector",) or encoder.readers[0].startswith("repeat_vector")
    assert not encoder.return_sequences and decoder.return_sequences
    assert encoder.reaches_next_layer().tolist() == [False] * (TIMESTEPS - 1) + [True]
    assert decoder.reaches_next_layer().all()


def test_gru_without_reset_after_too():
    inputs = keras.Input((TIMESTEPS, FEATURES))
    model = keras.Model(inputs, seeded("gru", 3, 1, reset_after=False, return_sequences=True)(inputs))
    scramble(model, 3)
    X = batch(3)
    (trace,) = inside.trace_model(model, X)
    np.testing.assert_allclose(trace.hidden, np.asarray(model(X)), atol=1e-6, rtol=0)


def test_lstm_gates_follow_their_equations():
    model = scramble(plain("lstm"), seed=4)
    (trace,) = inside.trace_model(model, batch(4))
    gates, states, previous = trace.gates, trace.states, trace.previous
    for name in ("input", "forget", "output"):
        assert (gates[name] > 0).all() and (gates[name] < 1).all()
    assert (np.abs(gates["candidate"]) < 1).all()
    np.testing.assert_allclose(
        states["cell"], gates["forget"] * previous["cell"] + gates["input"] * gates["candidate"], atol=1e-12
    )
    np.testing.assert_allclose(states["hidden"], gates["output"] * np.tanh(states["cell"]), atol=1e-12)
    # Each step starts where the previous one ended, from zeros at t = 0.
    np.testing.assert_array_equal(previous["hidden"][:, 1:], states["hidden"][:, :-1])
    assert not previous["cell"][:, 0].any()


def test_one_to_one_framing_every_sample_starts_from_zero():
    inputs = keras.Input((1, 1))
    model = scramble(keras.Model(inputs, dense(1, 2)(seeded("lstm", 5, 1)(inputs))), 6)
    X = np.linspace(0, 0.8, 5, dtype=np.float32).reshape(5, 1, 1)
    view = inside.InsideView(inputs=X, layers=inside.trace_model(model, X))
    assert view.positions_are_samples and view.num_positions == 5
    assert view.matrix(view.layers[0], "hidden").shape == (5, 5)
    assert view.locate(3) == (3, 0)
    np.testing.assert_allclose(view.input_series()[:, 0], X.reshape(-1))
    # Sample k alone gives the same h as in the batch: nothing is carried between samples.
    (alone,) = inside.trace_model(model, X[3:4])
    np.testing.assert_allclose(view.layers[0].hidden[3], alone.hidden[0], atol=1e-12)


@pytest.mark.parametrize("cell", list(CELL_CLASSES))
def test_explain_step_fills_in_the_numbers(cell):
    model = scramble(plain(cell), seed=8)
    (trace,) = inside.trace_model(model, batch(5))
    explanation = inside.explain_step(trace, time_step=2, sample=1)
    names = [equation.name for equation in explanation.equations]
    expected = {
        "lstm": ["input gate", "forget gate", "candidate", "output gate", "cell state", "hidden state"],
        "gru": ["update gate", "reset gate", "candidate", "hidden state"],
        "simple_rnn": ["hidden state"],
    }[cell]
    assert names == expected
    h = trace.hidden[1, 2]
    # The last equation ends with this step's h, printed with three decimals.
    last = explanation.equations[-1].filled
    assert last.endswith(inside._vec(h))
    assert explanation.units[0]["h_t"] == pytest.approx(h[0])
    assert explanation.units[0]["h_(t-1)"] == pytest.approx(trace.hidden[1, 1, 0])
    assert len(explanation.units) == trace.units
    assert explanation.summary and f"{trace.inputs[1, 2, 0]:+.3f}" in explanation.summary
    with pytest.raises(ValueError, match="time_step"):
        inside.explain_step(trace, time_step=TIMESTEPS)


def test_lstm_summary_names_the_unit_that_wrote_most():
    model = scramble(plain("lstm"), seed=9)
    (trace,) = inside.trace_model(model, batch(6))
    explanation = inside.explain_step(trace, time_step=3, sample=0)
    written = trace.gates["input"][0, 3] * trace.gates["candidate"][0, 3]
    unit = int(np.argmax(np.abs(written)))
    assert f"Written: unit {unit} took the most" in explanation.summary
    first = inside.explain_step(trace, time_step=0, sample=0)
    assert "nothing could be forgotten" in first.summary


def test_unsupported_activation_is_refused_by_name():
    inputs = keras.Input((TIMESTEPS, FEATURES))
    model = keras.Model(inputs, keras.layers.SimpleRNN(2, activation="elu")(inputs))
    with pytest.raises(ValueError, match="elu"):
        inside.trace_model(model, batch())


class _FakeResult:
    """The two things look_inside reads from a TrainingResult."""

    def __init__(self, model, X, has_validation=True):
        self.model, self._X, self.calls, self.has_validation = model, X, [], has_validation

    def sequence_inputs(self, sequence_index, split):
        self.calls.append((sequence_index, split))
        return self._X


def test_look_inside_reads_one_sequence_of_the_result():
    model = scramble(stacked("lstm"), seed=10)
    X = batch(7)[:1]
    result = _FakeResult(model, X)
    view = inside.look_inside(result, sequence_index=2, split="train")
    assert result.calls == [(2, "train")]
    assert not view.positions_are_samples and view.num_positions == TIMESTEPS
    assert [trace.layer for trace in view.layers] == [layer.name for layer in model.layers[1:3]]
    assert view.matrix(view.layers[1], "forget").shape == (3, TIMESTEPS)
    assert view.explain(1, 4).time_step == 4


def test_look_inside_shows_the_training_sequence_when_nothing_is_held_out():
    model = scramble(plain("gru"), seed=12)
    result = _FakeResult(model, batch(8)[:1], has_validation=False)
    inside.look_inside(result)
    assert result.calls == [(0, "train")]


@pytest.mark.parametrize(
    "topology, cell",
    [("one_to_one", "lstm"), ("many_to_one", "gru"), ("encoder_decoder", "lstm"),
     ("bidirectional", "simple_rnn"), ("stacked", "gru")],
)
def test_a_trained_run_seen_from_inside(topology, cell):
    """A real TrainingResult: the traced last layer's h, fed through the head, gives the predictions."""
    import lstm_core
    from lstm_core import ExperimentConfig

    result = lstm_core.train(ExperimentConfig(task="echo", topology=topology, cell=cell, epochs=20))
    view = inside.look_inside(result)
    assert len(view.layers) == {"stacked": 2, "encoder_decoder": 2, "bidirectional": 2}.get(topology, 1)
    _, _, predictions = result.sequence(0, "train")
    # Rebuild the output from the traces alone: what leaves the last recurrent layer, then the head.
    last = [trace for trace in view.layers if trace.layer == view.layers[-1].layer]
    features = np.concatenate(
        [trace.hidden[:, trace.reaches_next_layer()] if trace.return_sequences
         else trace.hidden[:, trace.reaches_next_layer()][:, 0] for trace in last], axis=-1)
    head = result.model.layers[-1]
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in head.get_weights())
    np.testing.assert_allclose((features @ kernel + bias).reshape(-1), predictions, atol=1e-5)


@pytest.mark.parametrize("wiring", ["stacked", "bidirectional", "encoder_decoder"])
def test_weights_given_are_used_instead_of_the_models(wiring):
    """A snapshot's weights (in trainable_variables order) trace like a model holding them."""
    model = scramble(WIRINGS[wiring]("lstm"), seed=13)
    other = scramble(WIRINGS[wiring]("lstm"), seed=14)
    X = batch(9)
    snapshot = [np.asarray(variable.numpy()) for variable in other.trainable_variables]
    before = [np.asarray(variable.numpy()) for variable in model.trainable_variables]
    given = inside.trace_model(model, X, weights=snapshot)
    held = inside.trace_model(other, X)
    for mine, theirs in zip(given, held):
        np.testing.assert_allclose(mine.inputs, theirs.inputs, atol=1e-6)
        np.testing.assert_allclose(mine.hidden, theirs.hidden, atol=1e-6)
    # The model itself is untouched, and without weights it traces as itself.
    for variable, value in zip(model.trainable_variables, before):
        np.testing.assert_array_equal(variable.numpy(), value)
    assert not np.allclose(inside.trace_model(model, X)[-1].hidden, held[-1].hidden)
    with pytest.raises(ValueError, match="trainable variables"):
        inside.trace_model(model, X, weights=snapshot[:-1])
