"""Start the dashboard's server with TensorFlow and the tutorial's shapes warming up at once.

    python -m app.serve [streamlit run options]     (what `make run` and `make class` call)

`streamlit run dashboard.py` runs none of the app until a browser opens a page, so the first
student to press Train waited for TensorFlow's import (~5 s) and then for a compile. This
starts both in the server process as it starts, in a background thread a moment after the
server is up, then hands over to Streamlit's own command line, so every option of
`streamlit run` still applies. Pages call `lstm_core.warm_up` too; whichever comes first does
the work once per process. It also keeps the server from looking up its external address on
the internet (`stay_offline`): a classroom may have no network; and keeps a known Streamlit
race on closed tabs out of the log (`quiet_closed_sockets`).
"""

from __future__ import annotations

import logging
import sys

# Seconds between the server's start and the warm-up: the server binds its port first.
STARTUP_DELAY_S = 1.0


def startup_shapes() -> list:
    """The tutorial's programs (the Explorer's and the Compare page's defaults), compiled before
    any browser arrives: each takes about a second here."""
    from lstm_core import TOPOLOGIES, ExperimentConfig

    return [ExperimentConfig(topology=key) for key, topology in TOPOLOGIES.items() if topology.tutorial]


def stay_offline() -> None:
    """Stop the server from asking the internet for its own address.

    A headless `streamlit run` bound to every interface prints an "External URL", which it
    learns from an HTTP request to checkip.amazonaws.com (streamlit/net_util.py, 1.67): the one
    request to outside the machine a class server made, and a one-second wait offline.
    """
    from streamlit import net_util

    if not callable(getattr(net_util, "get_external_ip", None)):
        raise RuntimeError("streamlit.net_util.get_external_ip is gone: check how this Streamlit version "
                           "finds its external address before trusting it offline (see app/serve.py)")
    net_util.get_external_ip = lambda: None


class _ClosedSocketNoise(logging.Filter):
    """Drops uvicorn's "Exception in ASGI application" for a WebSocket the browser had already
    closed: Streamlit 1.67's endpoint (starlette_websocket.py) takes Starlette's
    `WebSocketDisconnected` (a RuntimeError) for a text frame, calls `close()` on the closed
    socket and that raises again. A tab closed while the server was sending to it (a class
    leaving at the bell, or the browser tests closing theirs) logged two tracebacks for nothing
    lost; every other error still reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and record.getMessage().startswith("Exception in ASGI application")):
            return True
        from starlette.websockets import WebSocketDisconnected

        # Exactly the race: close() on a closed socket, raised while handling the closed
        # socket's own WebSocketDisconnected from receive_bytes().
        error = record.exc_info[1]
        return not (isinstance(error, WebSocketDisconnected)
                    and isinstance(error.__context__, WebSocketDisconnected))


def quiet_closed_sockets() -> None:
    """Keep a closed tab's WebSocket race out of the server log (see `_ClosedSocketNoise`)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _ClosedSocketNoise) for existing in logger.filters):
        logger.addFilter(_ClosedSocketNoise())


def main(argv: list[str] | None = None) -> None:
    import lstm_core
    from streamlit.web import cli

    stay_offline()
    quiet_closed_sockets()
    lstm_core.warm_up(delay=STARTUP_DELAY_S, precompile=startup_shapes())
    sys.argv = ["streamlit", "run", "dashboard.py", *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
