"""Presenter presets: every preset is a valid config, its sentences come from the registries, and
the two-run presets show what their story claims when trained."""

from __future__ import annotations

import pytest

import lstm_core
from lstm_core import TASKS, TOPOLOGIES, ExperimentConfig
from lstm_core.presets import PRESETS, Preset, first_sentence

REQUIRED = ("Tutorial: one-to-one", "Tutorial: many-to-one", "Tutorial: many-to-many", "Why TimeDistributed?",
            "Memory: delay", "Reverse needs the whole sequence")


def test_the_issue_s_presets_are_there_with_distinct_labels():
    labels = [preset.label for preset in PRESETS.values()]
    assert set(REQUIRED) <= set(labels)
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_is_a_valid_config(key):
    preset = PRESETS[key]
    configs = preset.configs
    assert 1 <= len(configs) <= 2
    for settings, config in zip(preset.runs, configs):
        assert isinstance(config, ExperimentConfig)
        # Nothing is clamped or replaced: resolving the config's own URL gives the same config back.
        again, messages = lstm_core.resolve(config.to_query_params())
        assert (again, messages) == (config, [])
        for name, value in settings.items():
            assert getattr(config, name) == value
    if len(configs) == 2:
        # Two runs side by side compare topologies on one task.
        assert configs[0].task == configs[1].task and configs[0].topology != configs[1].topology


@pytest.mark.parametrize("key", list(PRESETS))
def test_each_run_gets_one_sentence_from_the_registries(key):
    preset = PRESETS[key]
    for config, sentence in zip(preset.configs, preset.explanations()):
        source = TASKS[config.task].note_for(config.topology) or TOPOLOGIES[config.topology].explanation
        assert source.startswith(sentence) and sentence.endswith((".", "!", "?"))


def test_the_memory_presets_pair_a_topology_that_cannot_with_one_that_can():
    delay, reverse = PRESETS["delay"].configs, PRESETS["reverse"].configs
    assert [c.topology for c in delay] == ["one_to_one", "many_to_many"] and delay[0].task == "delay"
    assert reverse[0].topology == "many_to_many" and reverse[0].task == "reverse"


def test_first_sentence():
    assert first_sentence("It is causal: at step t it has read x_0 … x_t. For the rest, no.") == \
        "It is causal: at step t it has read x_0 … x_t."
    assert first_sentence("No full stop") == "No full stop"
    assert first_sentence("Values 0.2 and 0.4 here. Then more.") == "Values 0.2 and 0.4 here."


def test_a_preset_refuses_three_runs_and_a_winner_that_is_no_run():
    run = {"task": "echo"}
    with pytest.raises(ValueError, match="one or two runs"):
        Preset("x", "X", "story", (run, run, run))
    with pytest.raises(ValueError, match="better"):
        Preset("x", "X", "story", (run,), better=1)


@pytest.mark.parametrize("key", [key for key, preset in PRESETS.items() if len(preset.runs) == 2])
def test_two_run_presets_show_their_story_when_trained(key):
    preset = PRESETS[key]
    results = [lstm_core.train(config) for config in preset.configs]
    if preset.better is None:
        # Two names for the same network (TimeDistributed vs Dense): the same curve, same seed.
        assert abs(results[0].losses[-1] - results[1].losses[-1]) <= 1e-6
        assert all(result.solved for result in results)
    else:
        winner, loser = results[preset.better], results[1 - preset.better]
        assert winner.solved and not loser.solved
        assert winner.score * 10 < loser.score
