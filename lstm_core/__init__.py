"""lstm_core: configs, tasks, topologies, cells, framing, models and the fast training engine. No Streamlit.

Light names (config, registry, framing) import without TensorFlow; the heavy ones
(`train`, `build_model`, the callbacks) load it on first use.
"""

from lstm_core import backend
from lstm_core.config import FIELD_RANGES, FIELDS, MAX_WORK, ExperimentConfig, field_limits, max_epochs_for, resolve
from lstm_core.cells import CELLS
from lstm_core.data import frame, frame_data, framing_rows
from lstm_core.tasks import TASKS, Task
from lstm_core.model import build_model, describe_model, lstm_param_count
from lstm_core.topologies import TOPOLOGIES, Topology, make_sequence



def warm_up(delay: float = 0.0, precompile=()):
    """Import TensorFlow in the background after `delay` s, then compile the shapes of `precompile`.

    A server calls it once: the first student to press Train on a tutorial setting then
    waits for neither the import nor the compile. Returns the (daemon) thread.
    """

    def compile_shapes():
        from lstm_core import engine

        for config in precompile:
            if backend.stopping():  # the server is stopping: the next start compiles them
                return
            engine.compile_shape(config)

    return backend.warm_up(delay, then=compile_shapes)


_LAZY = {
    "train": "lstm_core.engine",
    "predict": "lstm_core.engine",
    "TrainingResult": "lstm_core.engine",
    "LossRecorder": "lstm_core.streaming",
    "ThrottledCallback": "lstm_core.streaming",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lstm_core' has no attribute {name!r}")


__all__ = [
    "CELLS", "ExperimentConfig", "FIELDS", "FIELD_RANGES", "MAX_WORK", "TASKS", "TOPOLOGIES", "Task", "Topology",
    "build_model", "describe_model", "field_limits", "frame", "frame_data", "framing_rows", "lstm_param_count", "make_sequence",
    "max_epochs_for", "resolve", "warm_up", *_LAZY,
]
