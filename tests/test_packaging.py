"""Packaging and start-up: prompts and event schemas ship in the wheel, --help stays light,
README stays true."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.conftest import ROOT

HEAVY = ("openai", "textual", "tree_sitter", "llama_cpp", "git", "unidiff")


def test_help_imports_no_heavy_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "coder", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    top_level = {name.split(".")[0] for name in imported}
    assert top_level.isdisjoint(HEAVY), top_level & set(HEAVY)


def test_wheel_contains_prompts_and_loads_them(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "-o",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("coder_agent-*.whl"))
    assert (
        "Name: coder-agent"
        in zipfile.ZipFile(wheel)
        .read(next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA")))
        .decode()
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "coder/prompts/system.md" in names
        assert {"coder/schemas/report.json", "coder/schemas/session_started.json"} <= set(names)
        archive.extractall(tmp_path / "site")
    code = (
        "from coder import prompts; print(prompts._prompt_dir()); print(prompts.load('system')[:9])"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); {code}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    folder, first = proc.stdout.splitlines()
    assert folder.startswith(str(tmp_path / "site"))
    assert first == "You are c"


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text.split("## Using it")[0])


def test_readme_test_command_is_what_ci_runs() -> None:
    install_and_demo, test_command = _readme_commands()
    assert "coder model install" in install_and_demo
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.removeprefix(". .venv/bin/activate && ") in ci


def test_every_install_hint_names_the_distribution_on_pypi() -> None:
    """`coder` on PyPI is an unrelated package: no hint may tell a user to install it."""
    from coder import DISTRIBUTION, INSTALL_LOCAL

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"coder": "coder.cli:main"}
    texts = [ROOT / "README.md", *(ROOT / "coder").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    wrong = re.compile(r"""pip install ['"]?coder(\[|['"\s]|$)""", re.M)
    offenders = [str(p) for p in texts if wrong.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert DISTRIBUTION in INSTALL_LOCAL
    assert INSTALL_LOCAL in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_ci_recipe_leaves_no_token_in_the_checkout() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    recipe = readme[readme.index("### In CI: a GitHub Actions job") :]
    recipe = recipe[: recipe.index("```\n\n")]
    checkout = recipe[recipe.index("actions/checkout@") :]
    assert checkout.splitlines()[1].strip() == "with: { persist-credentials: false }"
