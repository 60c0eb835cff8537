"""app.serve: the server `make run` starts makes no request outside the machine, and warms the tutorial's shapes."""

from streamlit import net_util

from app import serve
from lstm_core import TOPOLOGIES


def test_the_server_never_asks_the_internet_for_its_address(monkeypatch):
    requests = []
    monkeypatch.setattr(net_util, "_make_blocking_http_get", lambda url, timeout=None: requests.append(url))
    monkeypatch.setattr(net_util, "_external_ip", None, raising=False)
    monkeypatch.setattr(net_util, "get_external_ip", net_util.get_external_ip)  # undone after the test
    net_util.get_external_ip()
    assert requests, "without the patch Streamlit asks a web service (else this test proves nothing)"
    requests.clear()
    serve.stay_offline()
    assert net_util.get_external_ip() is None and requests == []


def test_the_startup_shapes_are_the_tutorials_programs():
    shapes = serve.startup_shapes()
    assert [config.topology for config in shapes] == [key for key, t in TOPOLOGIES.items() if t.tutorial]
    assert all(config.task == "echo" and config.epochs == TOPOLOGIES[config.topology].default_epochs
               for config in shapes)


def _log_of(exception: BaseException, message: str = "Exception in ASGI application\n") -> list[str]:
    """What uvicorn's error logger lets through when `exception` is logged the way uvicorn does."""
    import logging

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger = logging.getLogger("uvicorn.error")
    handler, filters = Keep(), list(logger.filters)
    logger.addHandler(handler)
    try:
        serve.quiet_closed_sockets()
        serve.quiet_closed_sockets()  # twice: still one filter
        assert sum(isinstance(f, serve._ClosedSocketNoise) for f in logger.filters) == 1
        try:
            raise exception
        except BaseException:  # noqa: BLE001 - logged as uvicorn logs it
            logger.exception(message)
    finally:
        logger.removeHandler(handler)
        logger.filters[:] = filters
    return seen


def test_a_closed_tabs_websocket_race_stays_out_of_the_log_and_other_errors_do_not():
    from starlette.websockets import WebSocketDisconnected

    def race() -> WebSocketDisconnected:
        """The error as Streamlit 1.67's endpoint raises it: close() while handling receive_bytes()'s."""
        try:
            try:
                raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')
            except WebSocketDisconnected:
                raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')
        except WebSocketDisconnected as error:
            return error

    assert _log_of(race()) == []
    assert _log_of(RuntimeError("a real failure")) == ["Exception in ASGI application\n"]
    # A disconnected socket used anywhere else is still reported.
    assert _log_of(WebSocketDisconnected("used after close")) == ["Exception in ASGI application\n"]
    assert _log_of(race(), "Something else went wrong") == ["Something else went wrong"]


_EXIT_DURING_WARM_UP = """
import sys, time
import lstm_core
from lstm_core import ExperimentConfig, backend
shapes = [ExperimentConfig(topology=t, units=u) for t in ("many_to_many", "stacked", "bidirectional") for u in (3, 9, 20)]
lstm_core.warm_up(precompile=shapes)
backend._loaded.wait(120)
time.sleep(0.5)  # a compile is under way
sys.exit(0)
"""


def test_a_server_stopped_while_warming_up_exits_cleanly():
    """Stopping the server in its first seconds: the warm-up ends its current compile and takes no
    other, before Keras's own exit hooks tear down the state that compile uses (it used to log a
    Keras error with a traceback, "warm-up step failed")."""
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    env = {**os.environ, "LSTM_DASHBOARD_PREFETCH": "0", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", _EXIT_DURING_WARM_UP], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    assert "Traceback" not in output and "warm-up step failed" not in output, output[-2000:]
