"""The inside view's figures, read as data (no browser): panels, shapes, colour ranges, outlines."""

import keras
import numpy as np
import pytest

from lstm_core import inside, inside_plots

T = 5


def model_for(cell, return_sequences=True, encoder_decoder=False, timesteps=T):
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}[cell]
    seeds = iter(range(1, 10))

    def recurrent(units, **kwargs):
        return layer(units, kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
                     recurrent_initializer=keras.initializers.Orthogonal(seed=next(seeds)), **kwargs)

    inputs = keras.Input((timesteps, 1))
    if encoder_decoder:
        hidden = recurrent(4, return_sequences=True)(keras.layers.RepeatVector(timesteps, name="repeat")(
            recurrent(4, name="encoder")(inputs)))
    else:
        hidden = recurrent(4, return_sequences=return_sequences, name="rnn")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(hidden))


def view_for(model, X):
    return inside.InsideView(inputs=X, layers=inside.trace_model(model, X))


def echo(samples=1, timesteps=T):
    return (np.arange(samples * timesteps, dtype=np.float32) / (samples * timesteps)).reshape(samples, timesteps, 1)


@pytest.mark.parametrize("cell, panels", [("lstm", 6), ("gru", 4), ("simple_rnn", 1)])
def test_one_heatmap_per_state_and_gate(cell, panels):
    view = view_for(model_for(cell), echo())
    figure = inside_plots.inside_figure(view, 0)
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    assert len(heatmaps) == panels
    for heatmap in heatmaps:
        assert np.asarray(heatmap.z).shape == (4, T)  # units × time steps
        assert "%{z:.3f}" in heatmap.hovertemplate
    quantities = list(view.layers[0].quantities())
    for heatmap, quantity in zip(heatmaps, quantities):
        np.testing.assert_allclose(np.asarray(heatmap.z), view.matrix(view.layers[0], quantity))
    # The input sequence is drawn on top, as it is.
    (line,) = [trace for trace in figure.data if trace.type == "scatter"]
    np.testing.assert_allclose(np.asarray(line.y), echo().reshape(-1), rtol=1e-6)
    titles = [note.text for note in figure.layout.annotations]
    assert titles[0] == "the input sequence x" and titles[1].startswith("h_t")
    if cell == "lstm":
        assert titles[2].startswith("c_t") and any(title.startswith("g_t: candidate") for title in titles)
    if cell == "gru":
        assert any(title.startswith("h̃_t: candidate") for title in titles)


def test_gates_share_the_unit_range_and_states_are_centred():
    figure = inside_plots.inside_figure(view_for(model_for("lstm"), echo()), 0)
    by_name = {trace.name: trace for trace in figure.data if trace.type == "heatmap"}
    for gate in ("input", "forget", "output"):
        assert (by_name[gate].zmin, by_name[gate].zmax) == (0.0, 1.0)
    for signed in ("hidden", "cell", "candidate"):
        assert by_name[signed].zmin == -by_name[signed].zmax > -np.inf
        assert by_name[signed].zmax >= np.abs(np.asarray(by_name[signed].z)).max()


def outlined_columns(figure):
    columns = []
    for shape in figure.layout.shapes:
        if shape.name == "reaches next layer":
            columns += list(range(int(shape.x0 + 0.5), int(shape.x1 + 0.5)))
    return sorted(columns)


def test_only_the_last_h_reaches_dense_without_return_sequences():
    figure = inside_plots.inside_figure(view_for(model_for("lstm", return_sequences=False), echo()), 0)
    assert outlined_columns(figure) == [T - 1]
    assert "only h at step 4" in figure.layout.title.text and "head" in figure.layout.title.text


def test_every_h_reaches_dense_with_return_sequences():
    figure = inside_plots.inside_figure(view_for(model_for("gru"), echo()), 0)
    assert outlined_columns(figure) == list(range(T))
    assert "every h_t goes to head" in figure.layout.title.text


def test_one_to_one_positions_are_samples():
    view = view_for(model_for("lstm", return_sequences=False, timesteps=1), echo(samples=T, timesteps=1))
    figure = inside_plots.inside_figure(view, 0)
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    assert np.asarray(heatmaps[0].z).shape == (4, T)
    # 7 panels (input, h, c, 4 gates): the bottom axis names the positions.
    assert figure.layout.xaxis7.title.text == "sample (one time step each)"
    # Each sample's only h goes to the Dense layer.
    assert outlined_columns(figure) == list(range(T))
    assert "each sample's h goes to head" in figure.layout.title.text


def test_a_decoder_also_shows_what_it_reads():
    view = view_for(model_for("lstm", encoder_decoder=True), echo())
    figure = inside_plots.inside_figure(view, 1)
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    assert heatmaps[0].name == "x_t" and np.asarray(heatmaps[0].z).shape == (4, T)
    np.testing.assert_allclose(np.asarray(heatmaps[0].z), view.layers[1].inputs[0].T)
    assert len(heatmaps) == 7


def test_selected_position_is_highlighted_in_every_panel():
    figure = inside_plots.inside_figure(view_for(model_for("simple_rnn"), echo()), 0, position=2)
    (highlight,) = [shape for shape in figure.layout.shapes if shape.name == "selected position"]
    # One outline from the top panel to the bottom one, around column 2.
    assert (highlight.x0, highlight.x1) == (1.5, 2.5)
    assert (highlight.yref, highlight.y0, highlight.y1) == ("paper", 0, 1)
    # Shared x: every panel's axis matches the bottom one, so data x means the same column in all.
    assert figure.layout.xaxis.matches == "x2" and figure.layout.xaxis2.matches is None  # 2 panels
    highlights = [highlight]
    assert all(shape.fillcolor == "rgba(0,0,0,0)" for shape in highlights)  # the colours stay readable


def test_step_figure_has_a_bar_group_per_quantity():
    view = view_for(model_for("lstm"), echo())
    explanation = view.explain(0, 3)
    figure = inside_plots.step_figure(explanation)
    assert [trace.name for trace in figure.data] == ["h_(t-1)", "c_(t-1)", "i", "f", "g", "o", "h_t", "c_t"]
    np.testing.assert_allclose(figure.data[-2].y, view.layers[0].hidden[0, 3])
    assert "http" not in figure.to_json()
