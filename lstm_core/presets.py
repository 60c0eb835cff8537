"""Presenter presets: the PRESETS registry. One button each, one story on one projector screen.

Presets are data: the presenter page draws any of them without code of its own. A preset is
one run or two runs side by side (the same task, two topologies), each given as keyword
arguments of `ExperimentConfig`; the seed stays fixed so the class sees the run the story was
checked on (tests/test_presets.py trains the two-run presets and checks the claimed winner).
The sentence under the charts comes from the task and topology registries, not from here.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping

from lstm_core.config import ExperimentConfig
from lstm_core.tasks import TASKS
from lstm_core.topologies import TOPOLOGIES


@dataclasses.dataclass(frozen=True)
class Preset:
    """One presenter button.

    Attributes:
        key: a short name (the page's URL `?preset=` value and the button's widget key).
        label: the button's text.
        story: one line the presenter can read aloud: what to watch for.
        runs: one or two mappings of `ExperimentConfig` keyword arguments, shown side by side.
        better: for two runs, the index of the run that should end with the lower error
            (None: both should end alike, e.g. two names for the same network).
    """

    key: str
    label: str
    story: str
    runs: tuple[Mapping[str, Any], ...]
    better: int | None = None

    def __post_init__(self):
        if not 1 <= len(self.runs) <= 2:
            raise ValueError(f"preset {self.key!r}: one or two runs, got {len(self.runs)}")
        if self.better is not None and not 0 <= self.better < len(self.runs):
            raise ValueError(f"preset {self.key!r}: better={self.better} is not a run")

    @property
    def configs(self) -> tuple[ExperimentConfig, ...]:
        return tuple(ExperimentConfig(**settings) for settings in self.runs)

    def explanations(self) -> tuple[str, ...]:
        """One sentence per run, from the registries: the task's note on the topology where it
        has one, else the first sentence of the topology's explanation."""
        sentences = []
        for config in self.configs:
            note = TASKS[config.task].note_for(config.topology)
            sentences.append(first_sentence(note or TOPOLOGIES[config.topology].explanation))
        return tuple(sentences)


def first_sentence(text: str) -> str:
    """The text up to its first full stop followed by a space (or all of it)."""
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), flags=re.S)
    return match.group(1) if match else text.strip()


PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            key="one_to_one",
            label="Tutorial: one-to-one",
            story="Five values, each its own sample of one time step: the loss falls and the crosses land on the targets.",
            runs=({"task": "echo", "topology": "one_to_one"},),
        ),
        Preset(
            key="many_to_one",
            label="Tutorial: many-to-one",
            story="The whole sequence in, all five values out of one final state.",
            runs=({"task": "echo", "topology": "many_to_one"},),
        ),
        Preset(
            key="many_to_many",
            label="Tutorial: many-to-many",
            story="One output per time step: return_sequences=True, then TimeDistributed(Dense(1)).",
            runs=({"task": "echo", "topology": "many_to_many"},),
        ),
        Preset(
            key="time_distributed",
            label="Why TimeDistributed?",
            story="TimeDistributed(Dense(1)) and a plain Dense(1), same seed: in Keras 3 the curves are the same.",
            runs=({"task": "echo", "topology": "many_to_many"}, {"task": "echo", "topology": "many_to_many_dense"}),
        ),
        Preset(
            key="delay",
            label="Memory: delay",
            story="Output each value two steps late: the network without memory across steps cannot.",
            runs=({"task": "delay", "topology": "one_to_one"}, {"task": "delay", "topology": "many_to_many"}),
            better=1,
        ),
        Preset(
            key="reverse",
            label="Reverse needs the whole sequence",
            story="Output the sequence backwards: a causal network must answer before it has read the end.",
            runs=({"task": "reverse", "topology": "many_to_many"}, {"task": "reverse", "topology": "bidirectional"}),
            better=1,
        ),
    )
}
