"""lstm_core.prefetch: the shape on screen compiles in the background before Train is pressed.

tests/conftest.py turns compiling ahead off for the test run; each test here turns it on.
"""

import time

import pytest

import lstm_core
from lstm_core import ExperimentConfig, engine, prefetch


@pytest.fixture
def ahead(monkeypatch):
    monkeypatch.setenv("LSTM_DASHBOARD_PREFETCH", "1")
    # Room in the engine's cache (compiling ahead never pushes a compiled shape out).
    monkeypatch.setattr(engine, "MAX_CACHED_SHAPES", len(engine.compiled_shapes()) + 10)
    yield prefetch
    with prefetch._lock:
        prefetch._pending.clear()
    assert prefetch.wait_until_idle(), "a compile ahead was still running after the test"


def wait_until(condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_shape_compiled_ahead_is_the_one_train_uses(ahead):
    # A shape no other test trains: many-to-one, 13 steps, 3 units.
    config = ExperimentConfig(topology="many_to_one", sequence_length=13, units=3, epochs=30, seed=4)
    key = engine.compiled_key(config)
    assert key not in engine.compiled_shapes()
    ahead.prefetch([config], source="learner")
    wait_until(lambda: key in engine.compiled_shapes())
    compiled = engine._cache[key]
    result = lstm_core.train(config)
    assert engine._cache[key] is compiled  # Train found it: nothing compiled again
    assert result.epochs_completed == 30


def test_a_newer_request_of_a_session_replaces_its_older_one(ahead, monkeypatch):
    monkeypatch.setattr(prefetch, "DELAY_S", 60.0)  # nothing starts while the test looks
    # One-to-one compiles each length (its samples): three distinct shapes.
    first, second, other = (ExperimentConfig(topology="one_to_one", sequence_length=n, units=3)
                            for n in (17, 18, 19))
    ahead.prefetch([first], source="a")
    ahead.prefetch([second], source="a")  # "+" clicked again before the first compile began
    assert ahead.pending() == 1
    assert list(prefetch._pending["a"][1].values()) == [second]
    ahead.prefetch([other], source="b")  # another session's request is kept beside it
    assert ahead.pending() == 2
    ahead.prefetch([], source="a")  # a page with nothing new to compile withdraws its request
    assert list(prefetch._pending) == ["b"]


def test_compiled_shapes_are_not_queued_and_the_limits_hold(ahead, monkeypatch):
    monkeypatch.setattr(prefetch, "DELAY_S", 60.0)
    tutorial = ExperimentConfig(epochs=5)
    lstm_core.train(tutorial)  # compiled now
    ahead.prefetch([tutorial], source="a")
    assert ahead.pending() == 0
    many = [ExperimentConfig(topology="one_to_one", sequence_length=n, units=3) for n in range(20, 32)]
    ahead.prefetch(many, source="a")
    assert ahead.pending() == len(many)  # one page's request is kept whole…
    ahead.prefetch(many[:2], source="b")
    assert list(prefetch._pending) == ["b"]  # …but beyond MAX_PENDING the oldest request goes
    monkeypatch.setattr(prefetch, "_attempts", prefetch.MAX_AHEAD)
    ahead.prefetch(many[2:4], source="c")
    assert "c" not in prefetch._pending  # the process has compiled its share ahead
    monkeypatch.setattr(prefetch, "_attempts", 0)
    monkeypatch.setattr(engine, "MAX_CACHED_SHAPES", len(engine.compiled_shapes()))
    ahead.prefetch(many[2:4], source="c")
    assert "c" not in prefetch._pending  # a full cache: nothing is pushed out for a guess


def test_the_same_request_again_keeps_its_place_and_a_failed_compile_is_not_retried(ahead, monkeypatch):
    monkeypatch.setattr(prefetch, "DELAY_S", 60.0)
    config = ExperimentConfig(topology="one_to_one", sequence_length=33, units=3)
    ahead.prefetch([config], source="a")
    first = prefetch._pending["a"][0]
    ahead.prefetch([config], source="a")  # a rerun with the same settings
    assert prefetch._pending["a"][0] == first
    monkeypatch.setattr(prefetch, "DELAY_S", 0.0)

    def broken(config):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(engine, "compile_shape", broken)
    ahead.prefetch([config.replace(sequence_length=34)], source="a")
    assert prefetch.wait_until_idle()
    key = engine.compiled_key(config.replace(sequence_length=34))
    assert key in prefetch._failed and key not in engine.compiled_shapes()
    ahead.prefetch([config.replace(sequence_length=34)], source="a")
    assert prefetch.pending() == 0  # not asked again
    prefetch._failed.discard(key)


def test_it_is_off_when_the_environment_says_so(monkeypatch):
    monkeypatch.setenv("LSTM_DASHBOARD_PREFETCH", "0")
    prefetch.prefetch([ExperimentConfig(topology="bidirectional", sequence_length=33, units=3)], source="a")
    assert prefetch.pending() == 0


# --------------------------------------------------------------------------- the pages


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_explorer_compiles_a_changed_setting_before_train(ahead):
    """A learner changes the length to one never trained: the page asks for its compile at once,
    and Train, pressed once it is done, says "cached" and compiles nothing."""
    from tests.pagetools import app, click

    lstm_core.backend.load()
    at = app({"topology": "many_to_one", "epochs": "50"}).run()
    config = ExperimentConfig(topology="many_to_one", sequence_length=14, epochs=50)
    key = engine.compiled_key(config)
    assert key not in engine.compiled_shapes()
    at.sidebar.number_input(key="sequence_length").set_value(14).run()
    assert not at.exception
    wait_until(lambda: key in engine.compiled_shapes())
    compiled = engine._cache[key]
    at = click(at, "Train")
    assert not at.exception and not at.error
    assert _metric(at, "Compile") == "cached"
    assert engine._cache[key] is compiled


def test_the_compare_page_compiles_every_topology_of_its_comparison_ahead(ahead):
    from streamlit.testing.v1 import AppTest

    from tests.pagetools import DASHBOARD

    lstm_core.backend.load()
    keys = [engine.compiled_key(ExperimentConfig(topology=t, sequence_length=23)) for t in ("many_to_one", "bidirectional")]
    assert not set(keys) & set(engine.compiled_shapes())
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    at.switch_page("pages/compare.py")
    at.query_params.update({"topologies": "many_to_one,bidirectional", "sequence_length": "23"})
    at.run()
    assert not at.exception and not at.error
    wait_until(lambda: set(keys) <= set(engine.compiled_shapes()))
