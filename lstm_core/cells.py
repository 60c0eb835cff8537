"""The recurrent cell registry: LSTM, GRU and SimpleRNN, with their parameter formulas.

Adding a cell is one `Cell` entry in `CELLS`: every topology builds its recurrent layers
through it, and the model summary writes each layer's formula from it. Keras is imported
only inside `layer`, so reading the registry stays cheap.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Cell:
    """One kind of recurrent layer.

    Attributes:
        key: the config value ("lstm", "gru", "simple_rnn").
        label: what the pages call it.
        keras_class: the name of the layer in `keras.layers`.
        gates: the number of weight blocks of the cell (LSTM 4: input, forget, candidate, output;
            GRU 3: update, reset, candidate; SimpleRNN 1).
        bias_rows: bias vectors per block (2 for Keras's GRU with reset_after=True, else 1).
        state: what the cell carries from one step to the next, in words.
        explanation: how it differs from the others, for the pages.
        cost_factor: its cost per unit and step relative to an LSTM, for the work cap.
    """

    key: str
    label: str
    keras_class: str
    gates: int
    bias_rows: int
    state: str
    explanation: str
    cost_factor: float

    def param_count(self, units: int, features: int) -> int:
        """gates · units · (units + features + bias_rows): recurrent kernel, kernel and bias."""
        return self.gates * units * (units + features + self.bias_rows)

    def formula(self, units: int, features: int) -> str:
        """The parameter formula with the numbers filled in, e.g. 4 · units · (units + features + 1)
        = 4 · 5 · (5 + 1 + 1) = 140."""
        return (
            f"{self.gates} · units · (units + features + {self.bias_rows}) = "
            f"{self.gates} · {units} · ({units} + {features} + {self.bias_rows}) = "
            f"{self.param_count(units, features)}"
        )

    def layer(self, units: int, kernel_initializer, recurrent_initializer, name: str, **kwargs):
        """A new Keras layer of this cell."""
        import keras

        layer_class = getattr(keras.layers, self.keras_class)
        return layer_class(
            units,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            name=name,
            **kwargs,
        )


CELLS: dict[str, Cell] = {
    cell.key: cell
    for cell in (
        Cell(
            key="lstm",
            label="LSTM",
            keras_class="LSTM",
            gates=4,
            bias_rows=1,
            state="a hidden state h and a cell state c",
            explanation=(
                "Four gates decide what to forget from the cell state c, what to write into it and "
                "what to show as h. The cell state is a protected memory lane: gradients pass along "
                "it without shrinking, so an LSTM can carry a value across many steps."
            ),
            cost_factor=1.0,
        ),
        Cell(
            key="gru",
            label="GRU",
            keras_class="GRU",
            gates=3,
            bias_rows=2,
            state="a hidden state h",
            explanation=(
                "Two gates (update and reset) and a candidate: a lighter LSTM without a separate "
                "cell state. It usually remembers about as well as an LSTM with a quarter fewer "
                "weights. (Keras's default reset_after=True gives it two bias vectors per block.)"
            ),
            cost_factor=0.8,
        ),
        Cell(
            key="simple_rnn",
            label="SimpleRNN",
            keras_class="SimpleRNN",
            gates=1,
            bias_rows=1,
            state="a hidden state h",
            explanation=(
                "h_t = tanh(W·x_t + U·h_{t-1} + b): no gates at all. Its gradient is multiplied by "
                "the same matrix at every step, so it fades (or explodes) over long sequences: "
                "it struggles to remember anything many steps back."
            ),
            cost_factor=0.5,
        ),
    )
}
