"""Framing shapes, model architectures and parameter counts, and seeded initial weights."""

import threading

import keras
import numpy as np
import pytest

from lstm_core import CELLS, FIELD_RANGES, ExperimentConfig, TOPOLOGIES, build_model, describe_model, frame, lstm_param_count

TUTORIAL_KEYS = ["one_to_one", "many_to_one", "many_to_many", "many_to_many_dense"]
TOPOLOGY_KEYS = [*TUTORIAL_KEYS, "stacked", "encoder_decoder", "bidirectional", "one_to_many"]
CELL_KEYS = ["lstm", "gru", "simple_rnn"]
LENGTHS = [2, 3, 5, 8, 17, 50]


def expected_shapes(topology, n):
    """The tutorial's (X shape, y shape), written out independently of the registry."""
    return {
        "one_to_one": ((n, 1, 1), (n, 1)),
        "many_to_one": ((1, n, 1), (1, n)),
        "many_to_many": ((1, n, 1), (1, n, 1)),
        "many_to_many_dense": ((1, n, 1), (1, n, 1)),
        "stacked": ((1, n, 1), (1, n, 1)),
        "encoder_decoder": ((1, n, 1), (1, n, 1)),
        "bidirectional": ((1, n, 1), (1, n, 1)),
        "one_to_many": ((1, 1, 1), (1, n, 1)),
    }[topology]


def expected_params(topology, n, units):
    """LSTM 4·u·(u + 1 + 1) (one input feature) plus the Dense head, counted by hand."""
    lstm = 4 * units * (units + 1 + 1)
    dense = units * n + n if topology == "many_to_one" else units * 1 + 1
    return lstm, dense


def cell_params(cell, units, features):
    """Counted by hand from the weight shapes: kernel (features, k·u), recurrent (u, k·u), bias."""
    return {
        "lstm": features * 4 * units + units * 4 * units + 4 * units,
        "gru": features * 3 * units + units * 3 * units + 2 * 3 * units,  # reset_after: two biases
        "simple_rnn": features * units + units * units + units,
    }[cell]


def expected_total(topology, cell, n, units):
    first = cell_params(cell, units, 1)
    second = cell_params(cell, units, units)
    return {
        "one_to_one": first + units + 1,
        "many_to_one": first + units * n + n,
        "many_to_many": first + units + 1,
        "many_to_many_dense": first + units + 1,
        "stacked": first + second + units + 1,
        "encoder_decoder": first + second + units + 1,
        "one_to_many": first + second + units + 1,
        "bidirectional": 2 * first + 2 * units + 1,
    }[topology]


def weights(model):
    return [np.array(w) for w in model.get_weights()]


def same_weights(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- framing


def test_registry_holds_exactly_the_topologies_and_cells_tested_here():
    assert sorted(TOPOLOGIES) == sorted(TOPOLOGY_KEYS)
    assert sorted(CELLS) == sorted(CELL_KEYS)


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
@pytest.mark.parametrize("cell", CELL_KEYS)
def test_parameter_counts_of_every_topology_and_cell(topology, cell):
    config = ExperimentConfig(topology=topology, cell=cell, sequence_length=7, units=3, epochs=1)
    model = build_model(config)
    description = describe_model(config)
    assert model.count_params() == expected_total(topology, cell, 7, 3) == description["total_parameters"]
    assert [row["parameters"] for row in description["layers"]] == [layer.count_params() for layer in model.layers]
    # Every layer with weights shows a formula that ends in its own count.
    for row in description["layers"]:
        if row["parameters"]:
            assert f"= {row['parameters']}" in row["formula"], row
    assert description["recurrent_parameters"] == cell_params(cell, 3, 1)
    assert description["recurrent_formula"].endswith(f"= {cell_params(cell, 3, 1)}")


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
@pytest.mark.parametrize("n", LENGTHS)
def test_frame_shapes(topology, n):
    config = ExperimentConfig(topology=topology, sequence_length=n, epochs=1)
    X, y = frame(config)
    assert (X.shape, y.shape) == expected_shapes(topology, n)
    assert (config.x_shape, config.y_shape) == (X.shape, y.shape)
    assert X.dtype == np.float32 and y.dtype == np.float32


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
@pytest.mark.parametrize("n", LENGTHS)
def test_frame_is_the_tutorial_sequence_in_order(topology, n):
    X, y = frame(ExperimentConfig(topology=topology, sequence_length=n, epochs=1))
    sequence = np.array([i / n for i in range(n)], dtype=np.float32)
    assert np.array_equal(y.reshape(-1), sequence)
    if topology == "one_to_many":  # it reads the first value only
        assert np.array_equal(X.reshape(-1), sequence[:1])
        return
    # An echo task: the inputs are the same values, in the same order.
    assert np.array_equal(X.reshape(-1), sequence)


def test_frame_at_the_tutorials_length_is_its_numbers():
    X, y = frame(ExperimentConfig())
    assert np.allclose(y.reshape(-1), [0.0, 0.2, 0.4, 0.6, 0.8])
    assert X[3, 0, 0] == y[3, 0] == np.float32(0.6)


# --------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize("topology, total", [("one_to_one", 146), ("many_to_one", 170), ("many_to_many", 146),
                                             ("many_to_many_dense", 146)])
def test_tutorial_param_counts(topology, total):
    model = build_model(ExperimentConfig(topology=topology))
    assert model.count_params() == total
    assert model.get_layer("lstm").count_params() == 140 == lstm_param_count(5)


@pytest.mark.parametrize("units", [1, 2, 5, 13, 64])
def test_lstm_param_count_formula(units):
    assert lstm_param_count(units) == 4 * units * (units + 1 + 1)
    assert lstm_param_count(units, features=3) == 4 * units * (units + 3 + 1)
    # 4 gates × (input kernel + recurrent kernel + bias)
    assert lstm_param_count(units) == 4 * (units * 1 + units * units + units)


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
@pytest.mark.parametrize("n, units", [(3, 1), (8, 2), (17, 7), (2, 64)])
def test_param_counts_at_other_sizes(topology, n, units):
    model = build_model(ExperimentConfig(topology=topology, sequence_length=n, units=units, epochs=1))
    assert model.count_params() == expected_total(topology, "lstm", n, units)
    assert not model.non_trainable_weights
    if topology not in TUTORIAL_KEYS:
        return
    lstm, dense = expected_params(topology, n, units)
    assert model.get_layer("lstm").count_params() == lstm == lstm_param_count(units)
    assert model.count_params() == lstm + dense
    assert model.count_params() - model.get_layer("lstm").count_params() == dense
    assert not model.non_trainable_weights


# --------------------------------------------------------------------------- architecture


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
@pytest.mark.parametrize("n, units", [(5, 5), (8, 3)])
def test_layer_output_shapes(topology, n, units):
    model = build_model(ExperimentConfig(topology=topology, sequence_length=n, units=units, epochs=1))
    shapes = [tuple(layer.output.shape) for layer in model.layers]
    timesteps = 1 if topology in ("one_to_one", "one_to_many") else n
    expected = {
        "one_to_one": [(None, 1, 1), (None, units), (None, 1)],
        "many_to_one": [(None, n, 1), (None, units), (None, n)],
        "many_to_many": [(None, n, 1), (None, n, units), (None, n, 1)],
        "many_to_many_dense": [(None, n, 1), (None, n, units), (None, n, 1)],
        "stacked": [(None, n, 1), (None, n, units), (None, n, units), (None, n, 1)],
        "encoder_decoder": [(None, n, 1), (None, units), (None, n, units), (None, n, units), (None, n, 1)],
        "bidirectional": [(None, n, 1), (None, n, 2 * units), (None, n, 1)],
        "one_to_many": [(None, 1, 1), (None, units), (None, n, units), (None, n, units), (None, n, 1)],
    }[topology]
    assert shapes == expected
    assert tuple(model.input.shape) == (None, timesteps, 1)
    head = model.layers[-1]
    if topology not in TUTORIAL_KEYS:
        assert isinstance(head, keras.layers.TimeDistributed)
        return
    if topology == "many_to_many":
        assert isinstance(head, keras.layers.TimeDistributed)
        assert isinstance(head.layer, keras.layers.Dense)
    else:
        assert type(head) is keras.layers.Dense
    assert isinstance(model.get_layer("lstm"), keras.layers.LSTM)
    assert model.get_layer("lstm").return_sequences == topology.startswith("many_to_many")


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
@pytest.mark.parametrize("n", [3, 17])
def test_model_output_matches_the_target_shape(topology, n):
    config = ExperimentConfig(topology=topology, sequence_length=n, units=4, epochs=1)
    X, y = frame(config)
    output = np.asarray(build_model(config)(X))
    assert output.shape == y.shape
    assert np.all(np.isfinite(output))


def test_dense_and_time_distributed_dense_are_the_same_network():
    """Keras 3's Dense acts on the last axis: same seed → same weights → the same outputs."""
    a = ExperimentConfig(topology="many_to_many", sequence_length=8, units=3, epochs=1, seed=5)
    b = a.replace(topology="many_to_many_dense")
    model_a, model_b = build_model(a), build_model(b)
    assert same_weights(weights(model_a), weights(model_b))
    X, _ = frame(a)
    np.testing.assert_allclose(np.asarray(model_a(X)), np.asarray(model_b(X)), rtol=0, atol=1e-7)


def test_lstm_initial_bias_is_keras_default_forget_bias_one():
    units = 4
    model = build_model(ExperimentConfig(units=units, epochs=1))
    bias = np.asarray(model.get_layer("lstm").cell.bias)
    expected = np.zeros(4 * units, dtype=np.float32)
    expected[units:2 * units] = 1.0  # Keras gate order: input, forget, cell, output
    assert np.array_equal(bias, expected)
    assert not np.any(np.asarray(model.get_layer("dense").bias))


# --------------------------------------------------------------------------- describe_model


@pytest.mark.parametrize("topology", TUTORIAL_KEYS)
@pytest.mark.parametrize("n, units", [(5, 5), (8, 3), (17, 12)])
def test_describe_model(topology, n, units):
    config = ExperimentConfig(topology=topology, sequence_length=n, units=units, epochs=1)
    description = describe_model(config)
    model = build_model(config)
    lstm, dense = expected_params(topology, n, units)
    assert description["total_parameters"] == lstm + dense == model.count_params()
    assert description["lstm_parameters"] == lstm
    assert description["lstm_formula"] == (
        f"4 · units · (units + features + 1) = 4 · {units} · ({units} + 1 + 1) = {lstm}"
    )
    assert "^" not in description["lstm_formula"]
    rows = description["layers"]
    assert [row["parameters"] for row in rows] == [layer.count_params() for layer in model.layers]
    assert sum(row["parameters"] for row in rows) == description["total_parameters"]
    assert [row["output shape"] for row in rows] == [
        str(tuple(layer.output.shape)).replace("None", "batch") for layer in model.layers
    ]
    assert [row["type"] for row in rows][1] == "LSTM"


def test_describe_model_at_the_tutorial_shows_140():
    description = describe_model(ExperimentConfig())
    assert description["lstm_formula"].endswith("= 4 · 5 · (5 + 1 + 1) = 140")
    assert [row["output shape"] for row in description["layers"]] == ["(batch, 1, 1)", "(batch, 5)", "(batch, 1)"]


def test_describe_model_works_for_every_valid_config():
    config = ExperimentConfig(topology="many_to_many", sequence_length=50, units=64, epochs=100)
    lstm, dense = expected_params("many_to_many", 50, 64)
    assert describe_model(config)["total_parameters"] == lstm + dense


# --------------------------------------------------------------------------- seeded weights


@pytest.mark.parametrize("topology", TOPOLOGY_KEYS)
def test_same_seed_gives_identical_initial_weights(topology):
    config = ExperimentConfig(topology=topology, units=3, epochs=1, seed=123)
    first, second = weights(build_model(config)), weights(build_model(config))
    assert same_weights(first, second)
    # Unrelated settings do not move the weights.
    assert same_weights(first, weights(build_model(config.replace(epochs=7, learning_rate=0.5))))


@pytest.mark.parametrize("topology", TUTORIAL_KEYS)
def test_different_seed_gives_different_initial_weights(topology):
    config = ExperimentConfig(topology=topology, units=3, epochs=1, seed=123)
    first, other = build_model(config), build_model(config.replace(seed=124))
    kernels = [
        (np.asarray(a), np.asarray(b))
        for a, b in zip(first.trainable_variables, other.trainable_variables)
        if a.name.endswith("kernel")  # the biases start as constants
    ]
    assert len(kernels) == 3  # LSTM kernel, recurrent kernel, Dense kernel
    assert all(not np.allclose(a, b) for a, b in kernels)


def test_the_extreme_allowed_seeds_give_different_weights():
    config = ExperimentConfig(units=3, epochs=1)
    assert not same_weights(weights(build_model(config.replace(seed=0))),
                            weights(build_model(config.replace(seed=FIELD_RANGES["seed"].maximum))))


def test_initial_weights_are_identical_when_built_concurrently_from_two_threads():
    configs = [
        ExperimentConfig(topology="one_to_one", units=4, epochs=1, seed=11),
        ExperimentConfig(topology="one_to_one", units=4, epochs=1, seed=11),
        ExperimentConfig(topology="many_to_many", units=4, epochs=1, seed=12),
    ]
    alone = [weights(build_model(config)) for config in configs]
    for pair in ([0, 1], [0, 2]):
        barrier = threading.Barrier(len(pair))
        results, errors = {}, []

        def build(index):
            try:
                barrier.wait(timeout=30)
                for _ in range(3):  # several builds, to overlap the other thread's
                    results.setdefault(index, []).append(weights(build_model(configs[index])))
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

        threads = [threading.Thread(target=build, args=(index,)) for index in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors
        for index in pair:
            assert len(results[index]) == 3
            assert all(same_weights(built, alone[index]) for built in results[index])
    assert same_weights(alone[0], alone[1])
