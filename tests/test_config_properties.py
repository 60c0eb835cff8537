"""Property tests: `resolve()` turns any text into a valid config; the constructor only ever says ValueError."""

import dataclasses
import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lstm_core.cells import CELLS
from lstm_core.config import FIELD_RANGES, MAX_WORK, ExperimentConfig, max_epochs_for, resolve
from lstm_core.tasks import TASKS
from lstm_core.topologies import TOPOLOGIES

FIELD_NAMES = [field.name for field in dataclasses.fields(ExperimentConfig)]
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text a URL or a hand-edited link could carry: numbers in and out of range, special floats,
# huge and unicode digits, blanks and garbage.
NASTY_TEXT = st.sampled_from(
    [
        "", " ", "0", "-0", "1", "-1", "2", "5", "50", "51", "64", "65", "1000", "20000", "20001",
        "2147483647", "2147483648", "-2147483649", "1e3", "1e-5", "1e-6", "0.001", "10", "10.0001",
        "2.5", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400",
        "9" * 5000, "-" + "9" * 5000, "0x10", "1_000", "٣", "１２", "五", "\x00", "5\n", "🙂",
        "one_to_one", "many_to_one", "many_to_many", "many_to_many_dense", "One_To_One",
        *TASKS, *CELLS, "echo", "next", "1,2,3", "1 2 nan", "0,0,0", ",".join(["1"] * 1001),
    ]
)
ANY_TEXT = st.one_of(
    NASTY_TEXT,
    st.text(max_size=30),
    # Whole numbers past ~1.8e308 make resolve() raise OverflowError: a known bug, pinned by
    # test_config.py::test_resolve_clamps_numbers_too_large_for_a_float; kept out of here.
    st.integers(-(10**300), 10**300).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
URL_PARAMS = st.dictionaries(
    keys=st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=20)),
    values=ANY_TEXT,
    max_size=12,
)


def assert_valid(config: ExperimentConfig) -> None:
    """Every field of a constructed config is of its kind and within its range and the work cap."""
    assert isinstance(config, ExperimentConfig)
    assert config.topology in TOPOLOGIES and config.task in TASKS and config.cell in CELLS
    for name, spec in FIELD_RANGES.items():
        value = getattr(config, name)
        assert type(value) is spec.kind, (name, value)
        assert math.isfinite(value)
        assert spec.minimum <= value <= spec.maximum, (name, value)
    assert config.batch_size <= config.num_samples
    assert config.epochs <= max_epochs_for(config)
    if config.applies("delay"):
        assert config.delay < config.sequence_length
    assert config.work <= MAX_WORK


def assert_round_trips(config: ExperimentConfig) -> None:
    params = config.to_query_params()
    assert all(isinstance(value, str) for value in params.values())
    assert ExperimentConfig.from_query_params(params) == config
    assert ExperimentConfig(**dataclasses.asdict(config)) == config
    assert resolve(params) == (config, [])


@PROPERTY_SETTINGS
@given(URL_PARAMS)
@example({})
@example({"units": "9" * 5000, "learning_rate": "1e400", "epochs": "-inf", "seed": "nan"})
@example({"topology": "many_to_many", "sequence_length": "50", "units": "64", "epochs": "20000", "batch_size": "50"})
@example({"topology": "🙂", "": "", "x" * 10_000: "y" * 10_000})
def test_resolve_never_raises_and_gives_a_valid_config(params):
    config, messages = resolve(params)
    assert_valid(config)
    assert isinstance(messages, list) and all(isinstance(message, str) for message in messages)
    unknown = set(params) - set(FIELD_NAMES)
    if unknown:  # one message for all of them
        assert any(f"{len(unknown):,} unknown" in message for message in messages)
    assert_round_trips(config)


@st.composite
def valid_configs(draw):
    task = draw(st.sampled_from(sorted(TASKS)))
    extra = {}
    if "custom_values" in TASKS[task].params:
        values = draw(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=80).filter(lambda v: max(v) > min(v)))
        extra = {"custom_values": tuple(values), "custom_mode": draw(st.sampled_from(["echo", "next"]))}
        longest = len(values) - (extra["custom_mode"] == "next")
        sequence_length = draw(st.integers(2, min(50, longest)))
    else:
        sequence_length = draw(st.integers(2, 50))
    if "delay" in TASKS[task].params:
        extra["delay"] = draw(st.integers(1, sequence_length - 1))
    if TASKS[task].generator is not None and TASKS[task].held_out:
        extra["num_sequences"] = draw(st.integers(1, 300))
    base = ExperimentConfig(task=task, topology=draw(st.sampled_from(sorted(TOPOLOGIES))),
                            cell=draw(st.sampled_from(sorted(CELLS))), sequence_length=sequence_length,
                            units=draw(st.integers(1, 64)), epochs=1, batch_size=1,
                            learning_rate=draw(st.floats(1e-5, 10.0)), seed=draw(st.integers(0, 2**31 - 2)),
                            **extra)
    base = base.replace(batch_size=draw(st.integers(1, base.num_samples)))
    return base.replace(epochs=draw(st.integers(1, max_epochs_for(base))))


@PROPERTY_SETTINGS
@given(valid_configs())
def test_valid_configs_round_trip_and_resolve_to_themselves_silently(config):
    assert_valid(config)
    assert_round_trips(config)


@PROPERTY_SETTINGS
@given(valid_configs(), st.dictionaries(st.sampled_from(FIELD_NAMES), ANY_TEXT, max_size=3))
def test_resolve_keeps_every_valid_value_it_is_given(config, overrides):
    """Fields not overridden keep the given config's values; silence means nothing was changed."""
    params = {**config.to_query_params(), **overrides}
    resolved, messages = resolve(params)
    assert_valid(resolved)
    if "task" in overrides:
        return  # another task brings its own defaults
    for name in ("topology", "units", "learning_rate", "seed"):
        if name not in overrides:
            assert getattr(resolved, name) == getattr(config, name), name
    if not set(overrides) & {"topology", "cell", "sequence_length", "units", "epochs", "batch_size",
                             "num_sequences", "custom_values", "custom_mode"}:
        assert (resolved.epochs, resolved.batch_size) == (config.epochs, config.batch_size)
    if not messages:
        assert ExperimentConfig.from_query_params(params) == resolved


# Values of every kind for the constructor. Integers for learning_rate stop at 1e300: beyond
# ~1.8e308 float() overflows (see test_config.py::test_numbers_too_large_for_a_float_raise_value_error).
ANY_NUMBER = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # huge ints are fine for int fields: they are compared, never made floats
    st.integers(-5, 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-5, 70).map(round).map(float),
    st.fractions(min_value=-100, max_value=100),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.complex_numbers(max_magnitude=10),
    st.lists(st.integers(), max_size=2),
)
LEARNING_RATES = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(1e-6, 12.0),
    st.integers(-10**300, 10**300),
    st.integers(-1, 11),
    st.fractions(min_value=-1, max_value=11),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
EPOCHS = st.one_of(ANY_NUMBER, st.integers(0, 25_000))
TOPOLOGY_VALUES = st.one_of(st.sampled_from(sorted(TOPOLOGIES)), st.text(max_size=12), st.none(), st.integers())
TASK_VALUES = st.one_of(st.sampled_from(sorted(TASKS)), st.text(max_size=12), st.integers())
CELL_VALUES = st.one_of(st.sampled_from(sorted(CELLS)), st.text(max_size=12), st.integers())
CUSTOM_VALUES = st.one_of(ANY_NUMBER, st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=3)), max_size=8),
                          st.text(max_size=20))


def _check_constructor(kwargs):
    try:
        config = ExperimentConfig(**kwargs)
    except ValueError as error:
        message = str(error)
        assert any(f"{name}=" in message for name in FIELD_NAMES), message
        return None
    assert_valid(config)
    assert_round_trips(config)
    return config


@PROPERTY_SETTINGS
@given(
    topology=TOPOLOGY_VALUES,
    sequence_length=ANY_NUMBER,
    units=ANY_NUMBER,
    epochs=EPOCHS,
    batch_size=ANY_NUMBER,
    learning_rate=LEARNING_RATES,
    seed=ANY_NUMBER,
)
@example(topology="one_to_one", sequence_length=5, units=5, epochs=None, batch_size=None, learning_rate=0.001, seed=7)
@example(topology="many_to_many", sequence_length=50, units=64, epochs=None, batch_size=None, learning_rate=0.001,
         seed=7)
@example(topology="one_to_one", sequence_length=50.0, units=64, epochs=625, batch_size=50, learning_rate=10, seed=0)
def test_constructor_gives_a_valid_config_or_a_value_error(**kwargs):
    # None means "not given" for the fields that have a fixed default.
    _check_constructor(
        {name: value for name, value in kwargs.items() if value is not None or name in ("epochs", "batch_size")}
    )


FIELD_VALUES = {
    "task": TASK_VALUES,
    "cell": CELL_VALUES,
    "delay": ANY_NUMBER,
    "num_sequences": ANY_NUMBER,
    "custom_values": CUSTOM_VALUES,
    "custom_mode": st.one_of(st.sampled_from(["echo", "next"]), st.text(max_size=6), st.integers()),
    "topology": TOPOLOGY_VALUES,
    "sequence_length": ANY_NUMBER,
    "units": ANY_NUMBER,
    "epochs": EPOCHS,
    "batch_size": ANY_NUMBER,
    "learning_rate": LEARNING_RATES,
    "seed": ANY_NUMBER,
}


@st.composite
def nearly_valid_kwargs(draw):
    """A valid config's fields with one or two of them replaced by anything: near the boundary."""
    kwargs = dataclasses.asdict(draw(valid_configs()))
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=2, unique=True)):
        kwargs[name] = draw(FIELD_VALUES[name])
    return kwargs


@PROPERTY_SETTINGS
@given(nearly_valid_kwargs())
def test_constructor_near_valid_configs_gives_a_valid_config_or_a_value_error(kwargs):
    _check_constructor(kwargs)
