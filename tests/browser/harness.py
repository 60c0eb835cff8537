"""Starting the dashboard and a headless Chromium, and reading what the browser shows.

Shared by the browser tests (tests/browser/conftest.py) and benchmarks/bench_browser.py, so it
imports neither pytest nor lstm_core. Playwright is imported lazily: without it (or without
Debian's chromium) `browser_unavailable_reason()` says why, and callers skip.

- `AppServer` runs `python -m app.serve` (`streamlit run dashboard.py`, as `make run` does) on a free port of 127.0.0.1 with the
  interpreter of this virtual environment, waits for `/_stcore/health`, and stops the process
  by its id (terminate, then kill).
- `launch_chromium` starts /usr/bin/chromium with the flags that work on this machine. Playwright
  gives every `launch()` a fresh temporary user-data dir and deletes it on close; every
  `new_context()` is a fresh, cookie-less profile on top of it.
- `PageWatch` records every request, websocket, console error and page error of a browser
  context, and checks that the app talks only to its own address.
- `plotly_figures` reads the charts from the Plotly DOM (`el._fullData`), not from the server.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Wide enough for the sidebar and a full-width chart; the charts are below the fold anyway.
VIEWPORT = {"width": 1400, "height": 1000}
HEALTH_TIMEOUT_S = 30.0

# The sidebar's number inputs by URL key (their labels come from lstm_core.config.FIELD_RANGES).
NUMBER_LABELS = {
    "sequence_length": "Sequence length",
    "units": "Units",
    "epochs": "Epochs",
    "batch_size": "Batch size",
    "learning_rate": "Learning rate",
    "seed": "Seed",
}

# The navigation's page titles, in dashboard.pages()'s order: what every URL must list.
NAVIGATION = ["Explorer", "Compare topologies", "Lessons", "Inside the network", "Landscape", "Presenter"]


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"playwright is not installed ({error}); `pip install -r requirements-dev.txt`"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}; `apt-get install -y chromium` (never `playwright install`)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """One `streamlit run dashboard.py` process on 127.0.0.1:<free port>.

    Example:
        with AppServer() as server:
            page.goto(server.url("/"))

    Args:
        env: extra environment variables for the server (e.g. LSTM_DASHBOARD_MAX_WORK).
        name: a word for error messages.
        log_path: where the server's output goes (kept); by default a temporary file that
            `stop()` deletes.
    """

    def __init__(self, env: dict[str, str] | None = None, name: str = "app", log_path: Path | None = None):
        self.extra_env = dict(env or {})
        self.name = name
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self.healthy_after_s: float | None = None
        self._log_dir = None if log_path is not None else Path(tempfile.mkdtemp(prefix=f"lstm-dashboard-{name}-"))
        self.log_path = Path(log_path) if log_path is not None else self._log_dir / "server.log"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/", **query) -> str:
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.origin}{path}{suffix}"

    def command(self) -> list[str]:
        return [
            # What `make run` starts: `streamlit run dashboard.py` warming up as it starts.
            sys.executable, "-m", "app.serve",
            "--server.headless", "true",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
        ]

    def start(self, wait: bool = True) -> "AppServer":
        self.port = free_port()
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # Also set in .streamlit/config.toml; repeated so a missing file cannot make the
            # browser call out for statistics during a test.
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            # As `make run` has it (tests/conftest.py turns it off for the in-process tests).
            "LSTM_DASHBOARD_PREFETCH": "1",
            **self.extra_env,
        }
        self.started_at = time.perf_counter()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            # The log is a file, not a pipe: a chatty server can never block on a full pipe.
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT_S) -> float:
        """Seconds from start until GET /_stcore/health answered "ok"; RuntimeError after `timeout`."""
        deadline = self.started_at + timeout
        last_error = "no answer yet"
        while time.perf_counter() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"the {self.name} server exited with status {code} before it was healthy.\n"
                    f"command: {' '.join(self.command())}\n--- server output ---\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.origin}/_stcore/health", timeout=1) as answer:
                    body = answer.read().decode("utf-8", "replace").strip()
                if body == "ok":
                    self.healthy_after_s = time.perf_counter() - self.started_at
                    return self.healthy_after_s
                last_error = f"health answered {body!r}"
            except (urllib.error.URLError, ConnectionError, socket.timeout) as error:
                last_error = f"{type(error).__name__}: {error}"
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"the {self.name} server was not healthy within {timeout:.0f} s ({last_error}).\n"
            f"command: {' '.join(self.command())}\n--- server output ---\n{self.log_tail()}"
        )

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_errors(self, since: int = 0) -> list[str]:
        """Tracebacks and thread crashes the server logged after byte `since`, one text each.

        The page may look fine while a background thread (e.g. the TensorFlow warm-up) failed;
        the log is where that shows.
        """
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return []
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # rich's colours
        lines = text.splitlines()
        starts = [
            index for index, line in enumerate(lines)
            if line.startswith("Exception in thread")
            or ("Traceback (most recent call last)" in line
                and not (index and lines[index - 1].startswith("Exception in thread")))
        ]
        errors = []
        for number, first in enumerate(starts):
            block = lines[first:starts[number + 1] if number + 1 < len(starts) else first + 300]
            # The error itself is the block's last "SomeError: message" line.
            messages = [line.strip() for line in block[1:] if re.match(r"^\s*[\w.]*(Error|Exception)\b.*:", line)]
            if not messages:
                # An exception without a message (such as "asyncio.exceptions.CancelledError") is the
                # block's last unindented line.
                messages = [line.strip() for line in block[1:] if line.strip() and not line[:1].isspace()]
            errors.append(f"{lines[first].strip()} … {messages[-1] if messages else '(see the log)'}")
        return errors

    def log_tail(self, limit: int = 6000) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return text[-limit:] or "(no output)"

    def stop(self) -> None:
        """Terminate the server by its process id; kill it if it has not gone within 5 s."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def launch_chromium(playwright):
    """Debian's Chromium, headless, with the flags that work here (see shared FACTS)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))


# Streamlit's frontend, loaded at a page's URL (/compare), cannot tell a page from a base path:
# it first asks /compare/_stcore/health and /compare/_stcore/host-config (404), then the real
# /_stcore/ ones. That is Streamlit's, not the app's, and harmless; any other 404 still counts.
_PAGE_PATH_PROBE = re.compile(r"^https?://[^/]+/[^/?#]+/_stcore/(health|host-config)$")


class PageWatch:
    """Everything a browser context asks for or complains about, for the end-of-test checks.

    Attach it to a context before the first `goto`; `problems(origin)` lists requests to any
    other host than the app's, console errors and uncaught page errors.
    """

    def __init__(self, context):
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)

    def _watch_page(self, page) -> None:
        page.on("websocket", lambda socket_: self.requests.append(socket_.url))
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))

    def _on_console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            if _PAGE_PATH_PROBE.search(str(location.get("url", ""))) and "404" in message.text:
                return
            self.console_errors.append(f"{message.text} (at {location.get('url', '?')}:{location.get('lineNumber', '?')})")

    def foreign_requests(self, origin: str) -> list[str]:
        """Requests not to the app's own host:port (data: and blob: URLs are local)."""
        own = urllib.parse.urlsplit(origin)
        foreign = []
        for url in self.requests:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == own.hostname and parts.port == own.port:
                continue
            foreign.append(url)
        return foreign

    def problems(self, origin: str) -> list[str]:
        return (
            [f"request to another host: {url}" for url in self.foreign_requests(origin)]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
        )

    def assert_clean(self, origin: str) -> None:
        problems = self.problems(origin)
        assert not problems, "the browser saw:\n  " + "\n  ".join(problems)
        assert any(url.startswith(origin) for url in self.requests), f"no request to {origin} was recorded"


# --------------------------------------------------------------------------------------------
# Reading the page

_FIGURES_JS = """
(selector) => Array.from(document.querySelectorAll(selector || '.js-plotly-plot')).map(el => {
  const title = el.layout && el.layout.title;
  return {
    title: (title && (title.text !== undefined ? title.text : title)) || '',
    traces: (el._fullData || []).map(t => ({
      name: t.name || '',
      x: t.x ? Array.from(t.x) : [],
      y: t.y ? Array.from(t.y) : [],
    })),
  };
})
"""


def plotly_figures(page, selector: str = ".js-plotly-plot") -> list[dict]:
    """The page's Plotly charts as drawn: [{"title", "traces": [{"name", "x", "y"}]}], in page order.

    Values come from Plotly's own decoded data in the browser (typed arrays as plain floats).
    `selector` picks the chart elements, e.g. ".st-key-some_key .js-plotly-plot" for the chart
    of a widget key (Streamlit gives keyed elements the class st-key-<key>).
    """
    figures = page.evaluate(_FIGURES_JS, selector)
    for figure in figures:
        figure["title"] = re.sub(r"<[^>]+>", "", str(figure["title"])).strip()
    return figures


def figures_titled(page, prefix: str) -> list[dict]:
    return [figure for figure in plotly_figures(page) if figure["title"].startswith(prefix)]


def wait_for_figures(page, predicate_js: str, arg=None, timeout: float = 30_000):
    """Wait until `predicate_js(figures, arg, titleOf)` is truthy in the browser, where `figures`
    is what `plotly_figures(page)` returns (titles still with markup: `titleOf(f)` strips it)."""
    page.wait_for_function(
        f"(arg) => {{ const figures = ({_FIGURES_JS})('.js-plotly-plot'); "
        f"const titleOf = f => String(f.title).replace(/<[^>]+>/g, '').trim(); "
        f"return ({predicate_js})(figures, arg, titleOf); }}",
        arg=arg,
        timeout=timeout,
    )


def query_params(page) -> dict[str, str]:
    """The page's current URL query (the app mirrors its settings there)."""
    search = page.evaluate("() => window.location.search")
    return dict(urllib.parse.parse_qsl(search.lstrip("?"), keep_blank_values=True))


def wait_for_query(page, expected: dict[str, str], timeout: float = 15.0) -> dict[str, str]:
    """Wait until the URL shows every key=value of `expected` (the app wrote the settings back)."""
    deadline = time.perf_counter() + timeout
    current = {}
    while time.perf_counter() < deadline:
        current = query_params(page)
        if all(current.get(key) == str(value) for key, value in expected.items()):
            return current
        page.wait_for_timeout(50)
    raise AssertionError(f"the URL query never showed {expected}; last {current}")


def wait_for_controls(page, timeout: float = 30_000) -> None:
    """The main page has painted its sidebar controls."""
    page.get_by_role("button", name="Tutorial settings").wait_for(state="visible", timeout=timeout)


def number_input(page, key: str):
    return page.get_by_label(NUMBER_LABELS[key], exact=True)


def set_number(page, key: str, value) -> None:
    """Type a value into a sidebar number input and press Enter, as a user does; then wait for
    the app's rerun to have taken it (the URL mirrors it)."""
    box = number_input(page, key)
    box.fill(str(value))
    box.press("Enter")
    wait_for_query(page, {key: str(value)})


def choose_topology(page, label: str, key: str) -> None:
    """Open the Topology select box and click an option, then wait for the rerun."""
    page.get_by_role("combobox", name="Topology").click()
    # Options read "🟧 Many-to-one": the topology's colour glyph, then its label.
    page.get_by_role("option", name=re.compile(rf"^\W*\s*{re.escape(label)}$")).click()
    wait_for_query(page, {"topology": key})


WARNING_SELECTOR = '[data-testid="stAlertContentWarning"]'


def warning_texts(page) -> list[str]:
    """The texts of the page's st.warning boxes (st.info boxes are not warnings)."""
    return [text.strip() for text in page.locator(WARNING_SELECTOR).all_inner_texts()]


_CONTENT_HEIGHT_JS = """
() => Math.max(...['stMain', 'stSidebarContent'].map(id => {
  const el = document.querySelector(`[data-testid="${id}"]`);
  return el ? el.scrollHeight : 0;
}))
"""


def screenshot(page, name: str, max_height: int = 8000) -> Path:
    """A screenshot of the whole page under test-artifacts/browser/, for a person to look at.

    Streamlit scrolls inside its main area, not the document, so a "full page" screenshot would
    stop at the window: the window is made as tall as the content for the shot, then restored.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    viewport = page.viewport_size or VIEWPORT
    page.mouse.move(0, 0)  # no tooltip from the last button pressed
    height = min(max(int(page.evaluate(_CONTENT_HEIGHT_JS)), viewport["height"]), max_height)
    try:
        if height > viewport["height"]:
            page.set_viewport_size({"width": viewport["width"], "height": height})
            page.wait_for_timeout(300)  # let the layout settle
        page.screenshot(path=str(path), full_page=True)
    finally:
        if height > viewport["height"]:
            page.set_viewport_size(viewport)
    return path


def expect(target):
    """playwright's `expect`, imported only when a browser test runs (collection needs no playwright)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def prime(browser, server: AppServer, timeout: float = 60_000) -> float:
    """Load "/" once in a throwaway tab of a new server (streamlit issue 9992: a first request
    for another page can show "Page not found"), and wait until TensorFlow has loaded there
    (the model summary replaces its "Loading TensorFlow" caption), so tests time the app, not
    the import. Returns the seconds it took; raises AssertionError if that tab saw problems."""
    started = time.perf_counter()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        watch = PageWatch(context)
        page = context.new_page()
        page.goto(server.url("/"))
        wait_for_controls(page, timeout=timeout)
        # In the closed "How the data is framed" section: there once TensorFlow has loaded.
        page.get_by_text("Total parameters").first.wait_for(state="attached", timeout=timeout)
        watch.assert_clean(server.origin)
    finally:
        context.close()
    return time.perf_counter() - started


def app_navigation(page, timeout: float = 15.0) -> list[str]:
    """The navigation's links once they are the app's (a page entered first may show Streamlit's
    own list of the folder's files for a moment, before the app's navigation replaces it)."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.wait_for(state="visible")
    deadline = time.perf_counter() + timeout
    while True:
        links = [re.sub(r"\s+", " ", text).strip() for text in nav.get_by_role("link").all_inner_texts()]
        if [re.sub(r"^\W+\s*", "", link) for link in links] == NAVIGATION or time.perf_counter() > deadline:
            return links
        page.wait_for_timeout(100)


def check_app_frame(page) -> None:
    """The page is the whole app: its tab title, the navigation with exactly the app's pages and
    their emoji icons, and the wide layout (what a page entered first on a fresh server must show)."""
    links = app_navigation(page)
    # The tab title is the app's (pages-directory mode would show the file name, "compare").
    page.wait_for_function("() => document.title === 'LSTM explorer'", timeout=15_000)
    # Each link is the emoji icon and the title (no Material icon font: offline classrooms).
    assert [re.sub(r"^\W+\s*", "", link) for link in links] == NAVIGATION, links
    assert links[0].startswith("🔁") and links[1].startswith("⚖️"), links
    width = page.get_by_test_id("stMainBlockContainer").bounding_box()["width"]
    assert width > 900, f"narrow layout: the main block is {width:.0f} px wide"


def main_button(page, name: str):
    """A button of the page itself (Streamlit's header has its own "Stop" while a script runs)."""
    return page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=name, exact=True)


EXCEPTION_SELECTOR = '[data-testid="stException"]'
# Streamlit's own exception box, and an st.error box (the pages catch their errors and say so).
FAILURE_SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def wait_for_text(page, pattern, timeout: float = 60_000):
    """Wait until a text matching `pattern` is visible; fail at once if the app shows an
    exception or an error box instead (with showErrorDetails = "none" an exception says only
    that an error happened: the server log, test-artifacts/browser/server-*.log, has the rest)."""
    target = page.get_by_text(pattern).first
    target.or_(page.locator(FAILURE_SELECTOR)).first.wait_for(state="visible", timeout=timeout)
    failures = page.locator(FAILURE_SELECTOR)
    if failures.count() and not target.is_visible():
        raise AssertionError(
            f"the app showed an error while waiting for {pattern!r}: {failures.first.inner_text()[:500]!r}"
        )
    return target


_IDLE_JS = """
() => !document.querySelector('[data-stale="true"]')
  && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')
"""


def wait_until_idle(page, timeout: float = 30_000) -> None:
    """The script run has finished drawing: no element of the previous run is left over (Streamlit
    marks those data-stale="true" until the run ends) and the header shows no "running" icon."""
    page.wait_for_function(_IDLE_JS, timeout=timeout, polling=50)
