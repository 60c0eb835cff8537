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
