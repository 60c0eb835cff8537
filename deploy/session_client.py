"""A headless student: one Streamlit session over the real WebSocket, without a browser.

It speaks Streamlit's own protocol (protobuf BackMsg/ForwardMsg on /_stcore/stream), as the
browser does: open the page with a URL query, read the widgets it draws, press Train, wait for
the charts. A browser tab costs ~100 MB and a core's worth of rendering; this costs a few MB,
so one process can be 32 students at once (benchmarks/bench_replicas.py), and a teacher can
check a deployment from a terminal:

    python -m deploy.session_client http://localhost:8501 --students 4

What it does not do: run the page's JavaScript (charts are received, not drawn), or answer the
page's timed fragment reruns (the "Loading TensorFlow" poll): the server still trains and sends
every chart, which is what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http.client
import json
import sys
import time
import urllib.parse
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

COOKIE = "lstm_replica"  # deploy/nginx_config.COOKIE (not imported: this file stands alone)
FINISHED = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")


@dataclasses.dataclass
class RunRecord:
    """What one script run sent: the elements by type, chart titles, errors, and its end."""

    finished: bool = False
    element_types: list[str] = dataclasses.field(default_factory=list)
    chart_titles: list[str] = dataclasses.field(default_factory=list)
    texts: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    buttons: dict[str, str] = dataclasses.field(default_factory=dict)  # label -> widget id


def _chart_title(spec: str) -> str:
    try:
        title = json.loads(spec).get("layout", {}).get("title", "")
    except ValueError:
        return ""
    return str(title.get("text", "") if isinstance(title, dict) else title)


class StudentSession:
    """One session: `await open()`, `await press("Train")`, `await close()`.

    Args:
        base_url: the class's address, e.g. "http://127.0.0.1:8501".
        query: the page's URL query (the dashboard reads its settings from it).
        replica: a value for nginx's affinity cookie ("r0"); None lets nginx choose and keeps
            the cookie it sets, as a browser does.
    """

    def __init__(self, base_url: str, query: dict[str, str] | None = None, replica: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.query_string = urllib.parse.urlencode(query or {})
        self.cookies: dict[str, str] = {COOKIE: replica} if replica else {}
        self.replica: str | None = replica
        self.session_id: str | None = None
        self.page_script_hash = ""
        self.socket = None
        self.buttons: dict[str, str] = {}
        self.runs: list[RunRecord] = []

    # -- HTTP: the page load, which is where nginx hands out the affinity cookie ---------------
    def _load_page(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
            connection.request("GET", "/" + (f"?{self.query_string}" if self.query_string else ""), headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET / answered {response.status}")
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";")[0]
            self.replica = response.headers.get("X-Replica") or self.cookies.get(COOKIE) or self.replica
        finally:
            connection.close()

    async def open(self, timeout: float = 120.0) -> RunRecord:
        """Load the page, open the WebSocket, run the script once (the first paint)."""
        from websockets.asyncio.client import connect

        await asyncio.to_thread(self._load_page)
        parts = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.socket = await connect(
            f"{scheme}://{parts.netloc}/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())},
            max_size=None,
            open_timeout=timeout,
            ping_interval=None,
        )
        return await self._rerun([], timeout)

    async def press(self, label: str, timeout: float = 600.0) -> RunRecord:
        """Press a button of the last run (a trigger, as a click sends) and wait for that run."""
        if label not in self.buttons:
            raise KeyError(f"no button {label!r}; the page has {sorted(self.buttons)}")
        return await self._rerun([WidgetState(id=self.buttons[label], trigger_value=True)], timeout)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    # -- the protocol ---------------------------------------------------------------------------
    async def _rerun(self, widget_states: list[WidgetState], timeout: float) -> RunRecord:
        message = BackMsg()
        message.rerun_script.query_string = self.query_string
        message.rerun_script.page_script_hash = self.page_script_hash
        message.rerun_script.widget_states.widgets.extend(widget_states)
        await self.socket.send(message.SerializeToString())
        record = RunRecord()
        self.runs.append(record)
        await asyncio.wait_for(self._read_until_finished(record), timeout)
        self.buttons = dict(record.buttons) or self.buttons
        return record

    async def _read_until_finished(self, record: RunRecord) -> None:
        while True:
            data = await self.socket.recv()
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                self.session_id = message.new_session.initialize.session_id or self.session_id
                self.page_script_hash = message.new_session.page_script_hash or self.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._read_element(message.delta.new_element, record)
            elif kind == "script_finished":
                if message.script_finished == FINISHED:
                    record.finished = True
                    return
                if message.script_finished != ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY"):
                    record.errors.append(f"script finished with {ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)}")
                    return

    @staticmethod
    def _read_element(element, record: RunRecord) -> None:
        kind = element.WhichOneof("type")
        record.element_types.append(kind)
        if kind == "button":
            record.buttons[element.button.label] = element.button.id
        elif kind == "plotly_chart":
            record.chart_titles.append(_chart_title(element.plotly_chart.spec))
        elif kind == "exception":
            record.errors.append(f"exception: {element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == 1:  # ERROR
            record.errors.append(f"error box: {element.alert.body[:200]}")
        elif kind == "progress":
            record.texts.append(element.progress.text)
        elif kind == "markdown":
            record.texts.append(element.markdown.body)


async def train_once(base_url: str, query: dict[str, str], replica: str | None = None) -> dict:
    """Open a session, press Train, return timings and what came back."""
    session = StudentSession(base_url, query, replica)
    started = time.perf_counter()
    try:
        await session.open()
        opened = time.perf_counter()
        record = await session.press("Train")
        done = time.perf_counter()
    finally:
        await session.close()
    return {
        "replica": session.replica,
        "open_s": opened - started,
        "train_s": done - opened,
        "charts": record.chart_titles,
        "errors": record.errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a deployment: N headless students press Train once each.")
    parser.add_argument("url", help="the class's address, e.g. http://localhost:8501")
    parser.add_argument("--students", type=int, default=2)
    args = parser.parse_args(argv)
    topologies = ("one_to_one", "many_to_one", "many_to_many")

    async def everyone():
        return await asyncio.gather(*(train_once(args.url, {"topology": topologies[index % 3], "seed": str(index)})
                                      for index in range(args.students)), return_exceptions=True)

    failures = 0
    for index, outcome in enumerate(asyncio.run(everyone())):
        if isinstance(outcome, BaseException):
            failures += 1
            print(f"student {index}: FAILED {outcome!r}")
            continue
        ok = any(title.startswith("Target vs prediction") for title in outcome["charts"]) and not outcome["errors"]
        failures += not ok
        print(f"student {index}: replica {outcome['replica']}, page {outcome['open_s']:.2f} s, "
              f"Train → charts {outcome['train_s']:.2f} s, {'ok' if ok else 'FAILED ' + '; '.join(outcome['errors'])}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
