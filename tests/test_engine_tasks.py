"""The engine on tasks with held-out data, against `model.fit(..., validation_data=...)`.

For every topology × cell, full batch, the engine's training and validation losses equal
Keras's own fit from the same seeded weights. Each case compiles one shape (a few seconds).
"""

import numpy as np
import pytest

import lstm_core
from lstm_core import CELLS, TOPOLOGIES, ExperimentConfig, backend, build_model, engine, frame_data

keras = backend.load()

EPOCHS = 12


PADDED = sorted(key for key, topology in TOPOLOGIES.items() if topology.pads_time)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_engine_matches_model_fit_with_validation_data(topology, cell):
    _check_against_fit(topology, cell, sequence_length=4)


@pytest.mark.parametrize("topology, cell, length, bucket", [(topology, "lstm", 7, 8) for topology in PADDED] + [
    ("many_to_many", "gru", 7, 8), ("many_to_many", "simple_rnn", 7, 8), ("bidirectional", "gru", 7, 8),
    ("encoder_decoder", "simple_rnn", 7, 8),
    # A 3-unit GRU's kernel has 3 × 3 = 9 columns, like Dense(9): the padding must tell them apart.
    ("many_to_one", "gru", 9, 10)])
def test_engine_padded_to_a_length_bucket_matches_model_fit_unpadded(topology, cell, length, bucket):
    """The engine trains `length` steps padded to its `bucket`; fit trains `length` steps."""
    _check_against_fit(topology, cell, sequence_length=length, padded_to=bucket)


def _check_against_fit(topology, cell, sequence_length, padded_to=None):
    config = ExperimentConfig(task="delay", topology=topology, cell=cell, sequence_length=sequence_length, units=3,
                              num_sequences=6, epochs=EPOCHS, learning_rate=0.02, seed=5)
    assert engine.padded_length(config) == (padded_to or sequence_length)
    config = config.replace(batch_size=config.num_samples)  # full batch: no shuffle order to match
    data = frame_data(config)
    model = build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss="mse")
    history = model.fit(data.X, data.y, epochs=EPOCHS, batch_size=config.batch_size, shuffle=False, verbose=0,
                        validation_data=(data.X_val, data.y_val))

    result = lstm_core.train(config)

    fit_losses = np.array(history.history["loss"])
    fit_val_losses = np.array(history.history["val_loss"])
    assert fit_losses[-1] < fit_losses[0]  # it moved: the comparison means something
    np.testing.assert_allclose(result.losses, fit_losses, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.val_losses, fit_val_losses, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.val_predictions, model.predict(data.X_val, verbose=0).reshape(-1),
                               rtol=0, atol=1e-4)
    assert result.model.count_params() == model.count_params()
