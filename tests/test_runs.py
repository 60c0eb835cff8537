"""app.runs.RunHandle.running: the one wrapper every page puts around a run's training."""

import pytest

from app import runs


class RerunSignal(BaseException):
    """Stands for Streamlit's rerun/stop signals, which are BaseExceptions, not Exceptions."""


def test_a_signal_marks_the_run_interrupted_goes_on_up_and_finishes_it():
    handle = runs.RunHandle("page", ["a", "b"])
    with pytest.raises(RerunSignal):
        with handle.running():
            handle.record("a")
            raise RerunSignal()
    assert handle.interrupted and handle.finished.is_set() and handle.results == ["a"]
    assert handle.not_trained == ["a", "b"]  # plain strings have no .config: none counts as done


def test_an_error_is_not_an_interruption_but_still_finishes_the_run():
    handle = runs.RunHandle("page", ["a"])
    with pytest.raises(ValueError):
        with handle.running():
            raise ValueError("broken")
    assert not handle.interrupted and handle.finished.is_set() and handle.finished_at is not None


def test_a_run_that_ends_normally_is_finished_and_not_interrupted():
    handle = runs.RunHandle("page", ["a"])
    with handle.running():
        handle.record("a")
    assert handle.finished.is_set() and not handle.interrupted
