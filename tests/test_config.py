"""ExperimentConfig: tutorial defaults, strict validation, the URL round trip and `resolve()`.

Task-specific settings (defaults per task, delay, custom data, the FIELDS table) are tested
in test_tasks.py; here the echo, which is the tutorial.
"""

import dataclasses
import fractions
import math

import pytest

from lstm_core import config as config_module
from lstm_core.config import FIELD_RANGES, FIELDS, MAX_WORK, ExperimentConfig, max_epochs_for, resolve, work_per_epoch
from lstm_core.topologies import TOPOLOGIES

# The tutorial's settings per topology: (epochs, batch size) at sequence length 5.
TUTORIAL_DEFAULTS = {
    "one_to_one": (1000, 5),
    "many_to_one": (500, 1),
    "many_to_many": (1000, 1),
    "many_to_many_dense": (1000, 1),
    "stacked": (1000, 1),
    "encoder_decoder": (1000, 1),
    "bidirectional": (1000, 1),
    "one_to_many": (1000, 1),
}

# A shape where the work cap bites: one update per epoch of 50 samples × 1 step × 64 units
# plus the update's fixed cost: 3,480 work per epoch.
CAPPED = {"topology": "one_to_one", "sequence_length": 50, "units": 64}


def _cap(topology="one_to_one", sequence_length=50, units=64):
    return max_epochs_for(topology, sequence_length, units)


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize("topology", sorted(TUTORIAL_DEFAULTS))
def test_defaults_are_the_tutorials(topology):
    config = ExperimentConfig(topology=topology)
    epochs, batch_size = TUTORIAL_DEFAULTS[topology]
    assert config.epochs == epochs
    assert config.batch_size == batch_size
    assert config.sequence_length == 5
    assert config.units == 5
    assert config.learning_rate == 0.001
    assert isinstance(config.epochs, int) and isinstance(config.batch_size, int)


def test_every_registered_topology_has_tutorial_defaults_listed_here():
    assert set(TOPOLOGIES) == set(TUTORIAL_DEFAULTS)


def test_default_topology_is_one_to_one():
    assert ExperimentConfig().topology == "one_to_one"
    assert ExperimentConfig() == ExperimentConfig(topology="one_to_one")


@pytest.mark.parametrize("sequence_length", [2, 3, 8, 17, 50])
def test_one_to_one_default_batch_follows_sequence_length(sequence_length):
    config = ExperimentConfig(topology="one_to_one", sequence_length=sequence_length)
    assert config.batch_size == sequence_length == config.num_samples


@pytest.mark.parametrize("topology", ["many_to_one", "many_to_many", "many_to_many_dense"])
@pytest.mark.parametrize("sequence_length", [3, 17])
def test_whole_sequence_topologies_default_to_batch_one(topology, sequence_length):
    config = ExperimentConfig(topology=topology, sequence_length=sequence_length)
    assert config.batch_size == 1 == config.num_samples
    assert config.timesteps == sequence_length


def test_with_tutorial_settings_restores_the_tutorials_settings_and_keeps_the_seed():
    changed = ExperimentConfig(topology="one_to_one", sequence_length=8, units=3, epochs=10,
                               batch_size=2, learning_rate=0.05, seed=11)
    restored = changed.with_tutorial_settings()
    assert restored == ExperimentConfig(topology="one_to_one", seed=11)
    assert (restored.sequence_length, restored.units, restored.learning_rate) == (5, 5, 0.001)
    assert (restored.epochs, restored.batch_size) == (1000, 5)


def test_config_is_frozen_and_hashable():
    config = ExperimentConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.units = 6
    assert hash(config) == hash(ExperimentConfig())


def test_shape_key_ignores_epochs_learning_rate_and_seed():
    base = ExperimentConfig()
    assert base.replace(epochs=3, learning_rate=0.2, seed=99).shape_key == base.shape_key
    assert base.replace(units=6).shape_key != base.shape_key
    assert base.replace(batch_size=2).shape_key != base.shape_key
    assert base.replace(sequence_length=6).shape_key != base.shape_key
    assert ExperimentConfig(topology="many_to_many").shape_key != ExperimentConfig(topology="many_to_many_dense").shape_key


def test_whole_numbers_given_as_floats_are_stored_as_ints():
    config = ExperimentConfig(units=6.0, sequence_length=7.0, epochs=12.0, seed=3.0)
    assert (config.units, config.sequence_length, config.epochs, config.seed) == (6, 7, 12, 3)
    assert all(isinstance(v, int) for v in (config.units, config.sequence_length, config.epochs, config.seed))
    assert ExperimentConfig(learning_rate=1).learning_rate == 1.0
    assert isinstance(ExperimentConfig(learning_rate=1).learning_rate, float)


# --------------------------------------------------------------------------- validation

# (keyword arguments, field named, the value as the message shows it, the allowed range)
RANGE_ERRORS = [
    ({"sequence_length": 1}, "sequence_length", "1", "2 to 50"),
    ({"sequence_length": 51}, "sequence_length", "51", "2 to 50"),
    ({"units": 0}, "units", "0", "1 to 64"),
    ({"units": 65}, "units", "65", "1 to 64"),
    ({"epochs": 0}, "epochs", "0", "1 to 20000"),
    ({"epochs": 20_001}, "epochs", "20001", "1 to 20000"),
    ({"batch_size": 0}, "batch_size", "0", "1 to 5"),
    ({"batch_size": 6}, "batch_size", "6", "1 to 5"),
    ({"learning_rate": 0.0}, "learning_rate", "0.0", "1e-05 to 10"),
    ({"learning_rate": 9e-6}, "learning_rate", "9e-06", "1e-05 to 10"),
    ({"learning_rate": 10.5}, "learning_rate", "10.5", "1e-05 to 10"),
    ({"seed": -1}, "seed", "-1", "0 to 2147483646"),
    ({"seed": 2**31}, "seed", "2147483648", "0 to 2147483646"),
    # More samples per batch than there are samples.
    ({"topology": "one_to_one", "sequence_length": 3, "batch_size": 4}, "batch_size", "4", "1 to 3"),
    ({"topology": "many_to_one", "batch_size": 2}, "batch_size", "2", "1 to 1"),
    ({"topology": "many_to_many", "batch_size": 5}, "batch_size", "5", "1 to 1"),
    # Over the work cap.
    ({**CAPPED, "epochs": _cap() + 1}, "epochs", str(_cap() + 1), f"1 to {_cap()}"),
    (
        {"topology": "many_to_many", "sequence_length": 50, "units": 64, "epochs": _cap("many_to_many") + 1},
        "epochs", str(_cap("many_to_many") + 1), f"1 to {_cap('many_to_many')}",
    ),
]

# Values of the wrong kind: the message names the field and the value (the range: see below).
KIND_ERRORS = [
    ({"units": 2.5}, "units", "2.5", "1 to 64"),
    ({"sequence_length": 4.01}, "sequence_length", "4.01", "2 to 50"),
    ({"epochs": 10.5}, "epochs", "10.5", "1 to 20000"),
    ({"seed": 0.5}, "seed", "0.5", "0 to 2147483646"),
    ({"batch_size": 1.5}, "batch_size", "1.5", "1 to 5"),
    ({"units": True}, "units", "True", "1 to 64"),
    ({"seed": False}, "seed", "False", "0 to 2147483646"),
    ({"learning_rate": True}, "learning_rate", "True", "1e-05 to 10"),
    ({"units": "5"}, "units", "'5'", "1 to 64"),
    ({"learning_rate": math.nan}, "learning_rate", "nan", "1e-05 to 10"),
    ({"learning_rate": math.inf}, "learning_rate", "inf", "1e-05 to 10"),
    ({"learning_rate": -math.inf}, "learning_rate", "-inf", "1e-05 to 10"),
    ({"units": math.inf}, "units", "inf", "1 to 64"),
    ({"epochs": math.nan}, "epochs", "nan", "1 to 20000"),
]


def _error(kwargs) -> str:
    with pytest.raises(ValueError) as caught:
        ExperimentConfig(**kwargs)
    return str(caught.value)


@pytest.mark.parametrize("kwargs, field, value, allowed", RANGE_ERRORS + KIND_ERRORS)
def test_invalid_value_raises_value_error_naming_field_and_value(kwargs, field, value, allowed):
    message = _error(kwargs)
    assert f"{field}={value}" in message


@pytest.mark.parametrize("kwargs, field, value, allowed", RANGE_ERRORS)
def test_out_of_range_message_names_the_allowed_range(kwargs, field, value, allowed):
    message = _error(kwargs)
    assert f"allowed {allowed}" in message
    # Check the message's range against FIELD_RANGES, not only against the table above.
    assert f"{field}={value} is out of range" in message


@pytest.mark.parametrize("kwargs, field, value, allowed", KIND_ERRORS)
def test_wrong_kind_message_names_the_allowed_range(kwargs, field, value, allowed):
    assert allowed in _error(kwargs)


def test_over_the_work_cap_message_says_why():
    message = _error({**CAPPED, "epochs": _cap() + 1})
    assert "work cap" in message
    assert f"{MAX_WORK:,}" in message


def test_batch_over_samples_message_says_why():
    message = _error({"topology": "many_to_one", "batch_size": 2})
    assert "number of samples" in message


@pytest.mark.parametrize("topology", ["two_to_two", "", "One_To_One", " one_to_one"])
def test_unknown_topology_names_it_and_lists_the_known_ones(topology):
    message = _error({"topology": topology})
    assert f"topology={topology!r}" in message
    for key in TOPOLOGIES:
        assert key in message


@pytest.mark.parametrize("topology", [None, 1, ["one_to_one"]])
def test_non_text_topology_raises_value_error(topology):
    assert "topology=" in _error({"topology": topology})


@pytest.mark.parametrize("field", sorted(set(FIELD_RANGES) - {"batch_size", "delay", "num_sequences"}))
def test_both_ends_of_every_range_are_accepted(field):
    spec = FIELD_RANGES[field]
    base = {"topology": "one_to_one", "sequence_length": 50, "units": 1, "epochs": 1}
    for value in (spec.minimum, spec.maximum):
        if field == "batch_size":
            kwargs = {**base, "batch_size": int(value)}
        elif field == "units":
            kwargs = {**base, "units": int(value)}
        else:
            kwargs = {**base, field: spec.kind(value)}
        config = ExperimentConfig(**kwargs)
        assert getattr(config, field) == spec.kind(value)


def test_epochs_exactly_at_the_work_cap_is_accepted():
    cap = _cap()
    assert cap < FIELD_RANGES["epochs"].maximum  # the cap, not the field range, is what bites here
    config = ExperimentConfig(**CAPPED, epochs=cap)
    assert config.work <= MAX_WORK
    # One full batch of 50 one-step samples of 64 units, plus one update (200 + 80 per step).
    per_epoch = 50 * 1 * 64 + 1 * (200 + 80 * 1)
    assert work_per_epoch(config) == per_epoch
    assert (cap + 1) * per_epoch > MAX_WORK


@pytest.mark.parametrize(
    "topology, sequence_length, units",
    [("one_to_one", 5, 5), ("many_to_one", 5, 5), ("many_to_many", 50, 64), ("one_to_one", 50, 64),
     ("many_to_many_dense", 17, 33)],
)
def test_max_epochs_for_is_the_work_cap_within_the_field_range(topology, sequence_length, units):
    config = ExperimentConfig(topology=topology, sequence_length=sequence_length, units=units, epochs=1)
    updates = -(-config.num_samples // config.batch_size)
    per_epoch = config.num_samples * config.timesteps * max(units, 16) + updates * (200 + 80 * config.timesteps)
    expected = max(1, min(int(FIELD_RANGES["epochs"].maximum), MAX_WORK // per_epoch))
    assert max_epochs_for(topology, sequence_length, units) == expected


def test_tutorial_runs_fit_within_the_work_cap():
    # epochs × (samples × steps × max(units, 16) + updates × (200 + 80 · steps)):
    # one-to-one 1000·(5·1·16 + 1·280); many-to-one 500·(1·5·16 + 1·600); many-to-many 1000·(80 + 600).
    expected = {"one_to_one": 360_000, "many_to_one": 340_000, "many_to_many": 680_000,
                "many_to_many_dense": 680_000}
    for topology, work in expected.items():
        config = ExperimentConfig(topology=topology)
        assert config.work == work <= MAX_WORK


@pytest.mark.parametrize(
    "kwargs",
    [{"learning_rate": 10**400}, {"learning_rate": -(10**400)}, {"units": fractions.Fraction(10**400, 3)}],
    ids=["huge_int_learning_rate", "huge_negative_learning_rate", "huge_fraction_units"],
)
def test_numbers_too_large_for_a_float_raise_value_error(kwargs):
    (field,) = kwargs
    with pytest.raises(ValueError, match=field):
        ExperimentConfig(**kwargs)


# --------------------------------------------------------------------------- URL round trip

ROUND_TRIP_CONFIGS = [
    ExperimentConfig(),
    ExperimentConfig(topology="many_to_one"),
    ExperimentConfig(topology="many_to_many", sequence_length=17, units=33, epochs=123, learning_rate=0.0123456789,
                     seed=2**31 - 2),
    ExperimentConfig(topology="many_to_many_dense", sequence_length=2, units=1, epochs=1, learning_rate=1e-5, seed=0),
    ExperimentConfig(topology="one_to_one", sequence_length=8, batch_size=3, learning_rate=0.1 + 0.2),
    ExperimentConfig(**CAPPED, epochs=_cap(), learning_rate=10.0),
]


@pytest.mark.parametrize("config", ROUND_TRIP_CONFIGS, ids=lambda c: f"{c.topology}-{c.sequence_length}")
def test_query_params_round_trip_exactly(config):
    params = config.to_query_params()
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in params.items())
    # The echo's settings: the task-specific ones (delay, custom data, training sequences) are left out.
    assert set(params) == set(FIELDS) - {"delay", "custom_values", "custom_mode", "num_sequences"}
    restored = ExperimentConfig.from_query_params(params)
    assert restored == config
    assert restored.learning_rate == config.learning_rate  # exact, not approximately
    assert restored.to_query_params() == params


def test_from_query_params_fills_missing_names_with_defaults():
    assert ExperimentConfig.from_query_params({}) == ExperimentConfig()
    config = ExperimentConfig.from_query_params({"topology": "many_to_one", "units": "7"})
    assert config == ExperimentConfig(topology="many_to_one", units=7)


def test_from_query_params_reads_whole_number_floats_and_spaces():
    config = ExperimentConfig.from_query_params({"units": " 6 ", "epochs": "1e2", "learning_rate": "1e-3"})
    assert (config.units, config.epochs, config.learning_rate) == (6, 100, 0.001)


def test_from_query_params_rejects_unknown_names():
    with pytest.raises(ValueError) as caught:
        ExperimentConfig.from_query_params({"units": "5", "colour": "red", "lr": "0.1"})
    message = str(caught.value)
    assert "colour" in message and "lr" in message
    assert "learning_rate" in message  # lists what is allowed


@pytest.mark.parametrize(
    "params, field",
    [
        ({"units": "abc"}, "units"),
        ({"units": ""}, "units"),
        ({"units": "2.5"}, "units"),
        ({"units": "1000"}, "units"),
        ({"sequence_length": "1"}, "sequence_length"),
        ({"epochs": "-4"}, "epochs"),
        ({"epochs": "inf"}, "epochs"),
        ({"batch_size": "6"}, "batch_size"),
        ({"learning_rate": "nan"}, "learning_rate"),
        ({"learning_rate": "inf"}, "learning_rate"),
        ({"learning_rate": "1e400"}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"learning_rate": "0"}, "learning_rate"),
        ({"seed": "-1"}, "seed"),
        ({"seed": "9" * 5000}, "seed"),
        ({"topology": "two_to_two"}, "topology"),
        ({"topology": ""}, "topology"),
    ],
)
def test_from_query_params_rejects_bad_text_naming_the_field(params, field):
    with pytest.raises(ValueError, match=field):
        ExperimentConfig.from_query_params(params)


# --------------------------------------------------------------------------- resolve()


@pytest.mark.parametrize("config", ROUND_TRIP_CONFIGS, ids=lambda c: f"{c.topology}-{c.sequence_length}")
def test_resolve_of_valid_params_changes_nothing_and_says_nothing(config):
    resolved, messages = resolve(config.to_query_params())
    assert resolved == config
    assert messages == []


def test_resolve_of_nothing_is_the_default_config():
    assert resolve({}) == (ExperimentConfig(), [])


def test_resolve_accepts_numbers_as_well_as_text():
    resolved, messages = resolve({"units": 7, "learning_rate": 0.01, "epochs": 20})
    assert resolved == ExperimentConfig(units=7, learning_rate=0.01, epochs=20)
    assert messages == []


def test_resolve_ignores_unknown_names_with_one_message_for_all():
    resolved, messages = resolve({"colour": "red", "units": "6", "lr": "0.5"})
    assert resolved == ExperimentConfig(units=6)
    assert len(messages) == 1
    assert "2 unknown" in messages[0] and "colour" in messages[0] and "lr" in messages[0]


def test_resolve_groups_a_thousand_unknown_names_into_one_short_message():
    resolved, messages = resolve({f"p{index}": "1" for index in range(1000)})
    assert resolved == ExperimentConfig()
    assert len(messages) == 1
    assert "1,000 unknown" in messages[0] and "p0" in messages[0] and "more" in messages[0]
    assert len(messages[0]) < 300


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("units", "abc", 5),
        ("units", "", 5),
        ("units", "2.5", 5),
        ("sequence_length", "five", 5),
        ("seed", "nan", 7),
        ("learning_rate", "nan", 0.001),
        ("epochs", "lots", 1000),
        ("batch_size", "all", 5),
    ],
)
def test_resolve_replaces_unreadable_values_by_the_default_with_a_message(name, text, expected):
    resolved, messages = resolve({name: text})
    assert getattr(resolved, name) == expected
    assert resolved == ExperimentConfig().replace(**{name: expected})
    assert len(messages) == 1
    assert name in messages[0] and f"{name}={text}" in messages[0]


def test_resolve_replaces_an_unknown_topology_by_the_default_with_a_message():
    resolved, messages = resolve({"topology": "two_to_two", "units": "6"})
    assert resolved == ExperimentConfig(topology="one_to_one", units=6)
    assert len(messages) == 1 and "two_to_two" in messages[0]


def test_resolve_unreadable_epochs_fall_back_to_the_topologys_default():
    resolved, messages = resolve({"topology": "many_to_one", "epochs": "x", "batch_size": "y"})
    assert (resolved.epochs, resolved.batch_size) == (500, 1)
    assert len(messages) == 2


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("sequence_length", "1", 2),
        ("sequence_length", "-100", 2),
        ("sequence_length", "51", 50),
        ("units", "0", 1),
        ("units", "1000", 64),
        ("units", "1e3", 64),
        ("epochs", "0", 1),
        ("epochs", "-3", 1),
        ("learning_rate", "0", 1e-5),
        ("learning_rate", "-1", 1e-5),
        ("learning_rate", "1e-300", 1e-5),
        ("learning_rate", "100", 10.0),
        # Huge numbers, however they are written, are clamped like any number out of range.
        ("learning_rate", "inf", 10.0),
        ("learning_rate", "-inf", 1e-5),
        ("learning_rate", "1e400", 10.0),
        ("epochs", "9" * 30, 20_000),
        ("epochs", "9" * 5000, 20_000),
        ("epochs", "inf", 20_000),
        ("seed", "-1", 0),
        ("seed", "99999999999999999999", 2**31 - 2),
        ("batch_size", "0", 1),
    ],
)
def test_resolve_clamps_out_of_range_values_to_the_nearest_valid_one_with_a_message(name, text, expected):
    resolved, messages = resolve({name: text})
    assert getattr(resolved, name) == expected
    assert type(getattr(resolved, name)) is FIELD_RANGES[name].kind
    assert len(messages) == 1
    assert f"{name}={text[:30]}" in messages[0]  # long values are cut short in messages
    assert "outside" in messages[0]


@pytest.mark.parametrize(
    "params, expected_batch",
    [
        ({"topology": "many_to_one", "batch_size": "4"}, 1),
        ({"topology": "many_to_many", "batch_size": "50"}, 1),
        ({"topology": "one_to_one", "sequence_length": "3", "batch_size": "5"}, 3),
        ({"topology": "one_to_one", "sequence_length": "3", "batch_size": "500"}, 3),
    ],
)
def test_resolve_clamps_batch_size_to_the_number_of_samples(params, expected_batch):
    resolved, messages = resolve(params)
    assert resolved.batch_size == expected_batch == resolved.num_samples
    assert messages and any("batch_size" in message for message in messages)


def test_resolve_lowers_epochs_to_the_work_cap():
    resolved, messages = resolve({**{k: str(v) for k, v in CAPPED.items()}, "epochs": "20000"})
    assert resolved.epochs == _cap()
    assert resolved.work <= MAX_WORK
    assert len(messages) == 1 and "work cap" in messages[0] and f"{_cap():,}" in messages[0]


def test_resolve_lowers_the_tasks_epochs_when_they_exceed_the_work_cap():
    params = {"task": "delay", "topology": "bidirectional", "sequence_length": "50", "units": "64",
              "num_sequences": "1000"}
    resolved, messages = resolve(params)
    assert resolved.epochs == max_epochs_for(resolved) < 200
    assert len(messages) == 1 and "epochs" in messages[0]


def test_resolve_clamps_and_then_caps_epochs():
    resolved, messages = resolve({**{k: str(v) for k, v in CAPPED.items()}, "epochs": "10000000"})
    assert resolved.epochs == _cap()
    assert len(messages) == 2  # out of the field's range, then over the work cap


@pytest.mark.parametrize(
    "params, field, expected",
    [
        ({"seed": "9" * 400}, "seed", 2**31 - 2),
        ({"units": "9" * 309}, "units", 64),
        ({"epochs": "-" + "9" * 400}, "epochs", 1),
        ({"learning_rate": 10**400}, "learning_rate", 10.0),
    ],
    ids=["seed_400_digits", "units_309_digits", "epochs_minus_400_digits", "learning_rate_huge_int"],
)
def test_resolve_clamps_numbers_too_large_for_a_float(params, field, expected):
    resolved, messages = resolve(params)
    assert getattr(resolved, field) == expected
    assert len(messages) == 1 and field in messages[0]


def test_resolve_clamps_a_308_digit_number():
    """Just below the float overflow: the clamp works (the one above is the bug)."""
    resolved, messages = resolve({"units": "9" * 308})
    assert resolved.units == 64 and len(messages) == 1


def test_resolve_names_its_source_in_messages():
    _, messages = resolve({"units": "abc"}, source="sidebar value")
    assert messages[0].startswith("sidebar value")


def test_resolve_cuts_long_values_short_in_messages():
    _, messages = resolve({"units": "x" * 10_000, "y" * 10_000: "1"})
    assert len(messages) == 2
    assert all(len(message) < 300 for message in messages)


def test_resolve_does_not_change_the_field_ranges():
    before = {name: dataclasses.astuple(spec) for name, spec in config_module.FIELD_RANGES.items()}
    resolve({"units": "1000", "seed": "-5"})
    assert {name: dataclasses.astuple(spec) for name, spec in config_module.FIELD_RANGES.items()} == before


@pytest.mark.parametrize("text", ["１２", "٣", "1_000", "五"])
def test_resolve_refuses_digits_python_reads_but_people_do_not_type(text):
    resolved, messages = resolve({"seed": text})
    assert resolved.seed == ExperimentConfig.seed
    assert any(f"seed={text}" in message for message in messages), messages
