"""Build a real git history from projects' PyPI releases, for bench/diff_apply.py.

Downloads each release with pip (cached; the pure-Python wheel, which needs no build, or
else the sdist), then commits the releases in order into a fresh repository; with --split,
each release-to-release change becomes one commit per changed file.

    python bench/build_history.py /tmp/history click attrs pyparsing --split
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "coder-bench-sdists"


def versions(project: str) -> list[str]:
    """Released versions, oldest first, without pre-releases."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", project],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Available versions: (.+)", out)
    found = [v.strip() for v in match.group(1).split(",")] if match else []
    final = [v for v in found if re.fullmatch(r"[0-9.]+(\.post[0-9]+)?", v)]
    return sorted(final, key=lambda v: [int(x) for x in re.findall(r"\d+", v)])


ARCHIVES = (".whl", ".gz", ".zip", ".bz2")


def release(project: str, version: str) -> Path | None:
    """The release's archive, downloaded once into the cache; None if pip finds none."""
    folder = CACHE / project / version
    archives = [p for p in folder.glob("*") if p.suffix in ARCHIVES]
    for how in (["--only-binary", ":all:"], ["--no-binary", ":all:"]):
        if archives:
            break
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *how]
            + ["-d", str(folder), f"{project}=={version}"],
            capture_output=True,
        )
        archives = [p for p in folder.glob("*") if p.suffix in ARCHIVES]
    return archives[0] if archives else None


def unpack(archive: Path, into: Path) -> Path:
    """Extract the archive and return its single top folder."""
    if archive.suffix in (".zip", ".whl"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    tops = [p for p in into.iterdir()]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else into


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def commit_release(repo: Path, project: str, version: str, tree: Path, split: bool) -> int:
    """Replace the project's folder with `tree`; commit it whole or per directory."""
    dest = repo / project
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(tree, dest, symlinks=True)
    for pattern in ("*.egg-info", "*.dist-info"):
        for junk in list(dest.rglob(pattern)):
            shutil.rmtree(junk, ignore_errors=True)
    (dest / "PKG-INFO").unlink(missing_ok=True)
    git(repo, "add", "-A", project)
    changed = [x for x in git(repo, "diff", "--cached", "--name-only", "-z").split("\0") if x]
    if not changed:
        return 0
    if not split:
        git(repo, "commit", "-q", "-m", f"{project} {version}")
        return 1
    git(repo, "reset", "-q")
    for name in sorted(changed):
        git(repo, "add", "-A", "--", name)
        git(repo, "commit", "-q", "-m", f"{project} {version}: {name}")
    return len(changed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="where to create the repository (must not exist)")
    parser.add_argument("projects", nargs="+", help="PyPI project names")
    parser.add_argument("--split", action="store_true", help="one commit per changed file")
    parser.add_argument("--last", type=int, default=0, help="only the last N releases of each")
    args = parser.parse_args()
    repo: Path = args.repo
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "bench")
    git(repo, "config", "user.email", "bench@example.invalid")
    git(repo, "config", "core.autocrlf", "false")
    total = 0
    for project in args.projects:
        chosen = versions(project)[-args.last :] if args.last else versions(project)
        for version in chosen:
            archive = release(project, version)
            if archive is None:
                print(f"{project} {version}: no release archive, skipped", file=sys.stderr)
                continue
            with tempfile.TemporaryDirectory() as tmp:
                made = commit_release(
                    repo, project, version, unpack(archive, Path(tmp)), args.split
                )
            total += made
            print(f"{project} {version}: {made} commit(s), {total} in all", file=sys.stderr)
    print(f"{total} commits in {repo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
