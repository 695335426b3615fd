"""Checkpoints of the working tree under `refs/coder/`, and undo. The only GitPython user.

A checkpoint is a commit object holding the whole working tree (tracked files with their
uncommitted changes plus untracked, non-ignored files), built in a temporary index so the
user's branch, index and stash are never touched. Its second parent records the index.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git

from coder.errors import CheckpointError, UsageError, WorkspaceError
from coder.gitsafe import DIFF_FLAGS, safe_env
from coder.pathguard import split
from coder.secrets import SECRET_FILES
from coder.workspace import Workspace

REF_PREFIX = "refs/coder/checkpoints/"
PRE_UNDO_REF = "refs/coder/pre-undo"


def _secret_pathspecs(ws: Workspace) -> list[str]:
    """Pathspecs that keep secret files out of a checkpoint (and so out of undo)."""
    patterns = [*SECRET_FILES, *ws.secret_files]
    return [f":(exclude,glob,icase)**/{p.strip('/')}" for p in patterns] + [
        ":(exclude,glob,icase)**/.ssh/**"
    ]


@dataclass(frozen=True)
class Checkpoint:
    """A saved working tree."""

    ref: str
    commit: str
    tree: str


def _open(ws: Workspace) -> git.Repo:
    try:
        repo = git.Repo(ws.root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(
            f"{ws.root} is not a git repository; coder needs git to checkpoint your work "
            "(run `git init` and commit first)"
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise UsageError(f"{ws.root} is a bare repository")
    if Path(repo.working_tree_dir).resolve() != ws.root:
        raise UsageError(f"run coder from the repository root: {repo.working_tree_dir}")
    return repo


@contextmanager
def _temp_index(repo: git.Repo, seed: Path | None) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="coder-index-") as folder:
        index = Path(folder) / "index"
        if seed is not None and seed.exists():
            shutil.copyfile(seed, index)
        yield {**safe_env(Path(repo.working_dir)), "GIT_INDEX_FILE": str(index)}


def _head(repo: git.Repo) -> str | None:
    try:
        return repo.head.commit.hexsha
    except ValueError:
        return None


def create(ws: Workspace, label: str = "before coder run") -> Checkpoint:
    """Save the working tree and index; returns the checkpoint (newest is undone first)."""
    repo = _open(ws)
    head = _head(repo)
    safe = safe_env(ws.root)
    try:
        with _temp_index(repo, Path(repo.git_dir) / "index") as env:
            index_tree = repo.git.write_tree(env=env)
            repo.git.add("-A", "--", ".", *_secret_pathspecs(ws), env=env)
            tree = repo.git.write_tree(env=env)
        parents = ["-p", head] if head else []
        index_commit = repo.git.commit_tree(index_tree, *parents, "-m", "index", env=safe)
        commit = repo.git.commit_tree(
            tree, *parents, "-p", index_commit, "-m", f"coder checkpoint: {label}", env=safe
        )
        ref = f"{REF_PREFIX}{time.time_ns()}"
        repo.git.update_ref(ref, commit, env=safe)
    except git.GitCommandError as exc:
        raise CheckpointError(f"could not create a checkpoint: {exc.stderr.strip()}") from None
    return Checkpoint(ref, commit, tree)


def latest(ws: Workspace) -> Checkpoint | None:
    """The newest checkpoint, if any."""
    repo = _open(ws)
    refs = sorted(
        (r for r in repo.refs if r.path.startswith(REF_PREFIX)),
        key=lambda r: int(r.path[len(REF_PREFIX) :]),
    )
    if not refs:
        return None
    commit = refs[-1].commit
    return Checkpoint(refs[-1].path, commit.hexsha, commit.tree.hexsha)


def _tree_files(repo: git.Repo, tree: str) -> dict[str, tuple[str, int]]:
    listing = repo.git.ls_tree(
        "-r", "-z", "--full-tree", tree, env=safe_env(Path(repo.working_dir))
    )
    files: dict[str, tuple[str, int]] = {}
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            files[path] = (sha, int(mode, 8))
    return files


def restore(ws: Workspace, checkpoint: Checkpoint) -> list[str]:
    """Make the working tree (and index) exactly what `checkpoint` saved; returns changed paths.

    The current state is saved first under refs/coder/pre-undo, so an undo can be undone.
    """
    repo = _open(ws)
    safe = safe_env(ws.root)
    now = create(ws, label="state before undo")
    repo.git.update_ref(PRE_UNDO_REF, now.commit, env=safe)
    repo.git.update_ref("-d", now.ref, env=safe)
    # Secret files are never in a checkpoint, and undo leaves them exactly as they are; so
    # it does coder's own files, which the agent cannot change.
    wanted = {p: v for p, v in _tree_files(repo, checkpoint.tree).items() if _restorable(ws, p)}
    present = {p: v for p, v in _tree_files(repo, now.tree).items() if _restorable(ws, p)}
    changed: list[str] = []
    for path in sorted(set(present) - set(wanted)):
        try:
            ws.guard.unlink(path)  # never through a symlinked directory out of the repo
        except WorkspaceError:
            continue
        _prune_empty_dirs(ws.root, (ws.root / path).parent)
        changed.append(path)
    for path, (sha, mode) in sorted(wanted.items()):
        if present.get(path) == (sha, mode):
            continue
        data = repo.odb.stream(bytes.fromhex(sha)).read()
        if mode == 0o120000:
            ws.guard.symlink(path, os.fsdecode(data))
        else:
            ws.write_bytes(path, data, mode=mode & 0o777)
        changed.append(path)
    index_parent = git.Commit(repo, bytes.fromhex(checkpoint.commit)).parents[-1]
    index_tree = index_parent.tree.hexsha
    with _temp_index(repo, None) as env:
        current_index = Path(repo.git_dir) / "index"
        if current_index.exists():
            shutil.copyfile(current_index, env["GIT_INDEX_FILE"])
        if repo.git.write_tree(env=env) != index_tree:
            repo.git.read_tree(index_tree, env=safe)
            repo.git.update_index("-q", "--refresh", env=safe, with_exceptions=False)
    repo.git.update_ref("-d", checkpoint.ref, env=safe)
    return changed


def _restorable(ws: Workspace, path: str) -> bool:
    """Whether undo may touch `path`: not a secret, not `.git/`, `.coder/` or `.coder.toml`."""
    try:
        split(path)
    except WorkspaceError:
        return False
    return not ws.is_secret(path)


def _prune_empty_dirs(root: Path, folder: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def undo(ws: Workspace) -> str:
    """Restore the newest checkpoint and describe what changed, in one line."""
    checkpoint = latest(ws)
    if checkpoint is None:
        raise UsageError("nothing to undo: no coder checkpoint in this repository")
    changed = restore(ws, checkpoint)
    if not changed:
        return "tree already matches the checkpoint; nothing changed"
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return f"restored {len(changed)} file(s) to the state before the last run: {shown}"


def diff_since(ws: Workspace, checkpoint: Checkpoint) -> str:
    """Unified diff from the checkpoint to the current working tree (untracked included)."""
    repo = _open(ws)
    with _temp_index(repo, None) as env:
        repo.git.read_tree(checkpoint.tree, env=env)
        repo.git.add("-A", "--", ".", *_secret_pathspecs(ws), env=env)
        return str(repo.git.diff("--cached", *DIFF_FLAGS, checkpoint.tree, "--no-color", env=env))
