"""Git plumbing for undo: checkpoints, snapshots, blobs and merges. The only GitPython user.

A checkpoint is a commit object under `refs/coder/checkpoints/` holding the whole working
tree (tracked files with their uncommitted changes plus untracked, non-ignored files,
secret files excepted), built in a temporary index so the user's branch, index and stash
are never touched; its second parent records the index. `GitStore.snapshot` takes the same
kind of tree cheaply before and after each command (a persistent index makes it
incremental), which is how the undo ledger (`coder.undo`) learns what the agent changed.
Every call runs with `coder.gitsafe`'s environment (no repository program runs) and the git
`coder.gitsafe.git_program` resolved outside the repository; GitPython is imported only
once that git is set, since its import runs `git version`.
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
from types import ModuleType
from typing import TYPE_CHECKING

from coder.errors import CheckpointError, UsageError
from coder.gitsafe import DIFF_FLAGS, git_program, safe_env
from coder.secrets import secret_pathspecs
from coder.workspace import Workspace

if TYPE_CHECKING:
    import git

REF_PREFIX = "refs/coder/checkpoints/"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
Entry = tuple[str, int]
"""A file in a tree: (blob sha, git mode)."""


@dataclass(frozen=True)
class Checkpoint:
    """A saved working tree."""

    ref: str
    commit: str
    tree: str


def _gitpython(root: Path) -> ModuleType:
    """GitPython, running the git resolved for `root` (its import-time check included)."""
    program = git_program(root)
    os.environ["GIT_PYTHON_GIT_EXECUTABLE"] = program
    import git as gitpython

    gitpython.Git.GIT_PYTHON_GIT_EXECUTABLE = program
    return gitpython


def _open(ws: Workspace) -> git.Repo:
    gitpython = _gitpython(ws.root)
    try:
        repo = gitpython.Repo(ws.root)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        raise UsageError(
            f"{ws.root} is not a git repository; coder needs git to checkpoint your work "
            "(run `git init` and commit first)"
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise UsageError(f"{ws.root} is a bare repository")
    if Path(repo.working_tree_dir).resolve() != ws.root:
        raise UsageError(f"run coder from the repository root: {repo.working_tree_dir}")
    return repo


class GitStore:
    """One repository's object store, used without touching its branch, index or stash."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.repo = _open(ws)
        self._failure = _gitpython(ws.root).GitCommandError
        self.env = safe_env(ws.root)
        self.git_dir = Path(self.repo.git_dir)

    def _git(self, command: str, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            return str(getattr(self.repo.git, command)(*args, env=env or self.env))
        except self._failure as exc:
            stderr = str(exc.stderr or "").strip()
            raise CheckpointError(f"git {command} failed: {stderr or exc}") from None

    def _pathspecs(self) -> list[str]:
        """Everything, except secret files (never stored, so undo leaves them alone)."""
        return ["--", ".", *secret_pathspecs(self.ws.secret_files, exclude=True)]

    @contextmanager
    def _index(
        self, seed: Path | None = None, keep: Path | None = None
    ) -> Iterator[dict[str, str]]:
        """An index of our own: a temporary copy of `seed`, or the persistent file `keep`."""
        if keep is not None:
            if not keep.exists() and seed is not None and seed.exists():
                shutil.copyfile(seed, keep)  # tracked files that are also ignored stay in
            yield {**self.env, "GIT_INDEX_FILE": str(keep)}
            return
        with tempfile.TemporaryDirectory(prefix="coder-index-") as folder:
            index = Path(folder) / "index"
            if seed is not None and seed.exists():
                shutil.copyfile(seed, index)
            yield {**self.env, "GIT_INDEX_FILE": str(index)}

    # ---- trees -------------------------------------------------------------------------

    def snapshot(self, index_file: Path | None = None) -> str:
        """The tree of the working tree now (secrets excepted); `index_file` makes it fast."""
        with self._index(self.git_dir / "index", keep=index_file) as env:
            self._add_all(env)
            return self._git("write_tree", env=env)

    def _add_all(self, env: dict[str, str]) -> None:
        """Stage the whole tree in the index of `env`. A file that vanishes while git reads
        it (an editor's swap file) or a nested repository without a commit is left out, not
        fatal: write-tree decides."""
        self.repo.git.add(
            "--ignore-errors", "-A", *self._pathspecs(), env=env, with_exceptions=False
        )

    def refuse_unmerged(self) -> None:
        """UsageError naming the state when the index holds unmerged paths (a merge, rebase,
        cherry-pick or revert stopped on conflicts): coder cannot save such an index."""
        unmerged = self.repo.git.ls_files("-u", "-z", env=self.env, with_exceptions=False)
        if not unmerged:
            return
        paths = sorted({e.split("\t", 1)[-1] for e in str(unmerged).split("\0") if "\t" in e})
        state, abort = "a merge", "git merge --abort"
        for marker, name, command in (
            ("rebase-merge", "a rebase", "git rebase --abort"),
            ("rebase-apply", "a rebase", "git rebase --abort"),
            ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --abort"),
            ("REVERT_HEAD", "a revert", "git revert --abort"),
        ):
            if (self.git_dir / marker).exists():
                state, abort = name, command
                break
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        raise UsageError(
            f"the repository is in the middle of {state} with unmerged paths ({shown}): "
            f"resolve them and `git add` them, or `{abort}`, then run coder"
        )

    def index_tree(self) -> str:
        """The user's index as a tree."""
        with self._index(self.git_dir / "index") as env:
            return self._git("write_tree", env=env)

    def set_index(self, tree: str) -> None:
        """Make the user's index hold `tree` (stat data refreshed)."""
        self._git("read_tree", tree)
        self.repo.git.update_index("-q", "--refresh", env=self.env, with_exceptions=False)

    def entries(self, tree: str) -> dict[str, Entry]:
        """Every file in `tree`: path → (blob sha, mode)."""
        listing = self._git("ls_tree", "-r", "-z", "--full-tree", tree)
        files: dict[str, Entry] = {}
        for entry in filter(None, listing.split("\0")):
            meta, path = entry.split("\t", 1)
            mode, kind, sha = meta.split()
            if kind == "blob":
                files[path] = (sha, int(mode, 8))
        return files

    def changes(self, old: str, new: str) -> dict[str, tuple[Entry | None, Entry | None]]:
        """Paths that differ between two trees: path → (old entry, new entry)."""
        if old == new:
            return {}
        out = self._git("diff_tree", "-r", "-z", "--no-renames", "--raw", old, new)
        fields = out.split("\0")
        found: dict[str, tuple[Entry | None, Entry | None]] = {}
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if not meta.startswith(":"):
                continue
            old_mode, new_mode, old_sha, new_sha = meta[1:].split()[:4]
            before = None if set(old_sha) == {"0"} else (old_sha, int(old_mode, 8))
            after = None if set(new_sha) == {"0"} else (new_sha, int(new_mode, 8))
            found[path] = (before, after)
        return found

    # ---- blobs and merges --------------------------------------------------------------

    def put(self, data: bytes) -> str:
        """Store bytes as a blob; returns its sha."""
        with tempfile.NamedTemporaryFile(prefix="coder-blob-") as handle:
            handle.write(data)
            handle.flush()
            return self._git("hash_object", "-w", "--no-filters", handle.name)

    def size(self, sha: str) -> int:
        """A blob's size in bytes, without reading it."""
        return int(self.repo.odb.info(bytes.fromhex(sha)).size)

    def get(self, sha: str) -> bytes:
        """The bytes of a blob."""
        return bytes(self.repo.odb.stream(bytes.fromhex(sha)).read())

    def merge(self, current: bytes, base: bytes, other: bytes) -> bytes | None:
        """Three-way merge of text (`git merge-file`): None when it does not merge cleanly."""
        with tempfile.TemporaryDirectory(prefix="coder-merge-") as folder:
            paths = []
            for name, data in (("current", current), ("base", base), ("other", other)):
                path = Path(folder) / name
                path.write_bytes(data)
                paths.append(str(path))
            try:
                merged = self.repo.git.merge_file(
                    "-p",
                    *paths,
                    env=self.env,
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,
                )
            except self._failure:
                return None  # conflicts (exit > 0) or binary input
            return bytes(merged) if isinstance(merged, bytes) else str(merged).encode()

    # ---- checkpoints -------------------------------------------------------------------

    def checkpoint(self, label: str = "before coder run") -> Checkpoint:
        """Save the working tree and index as a commit under refs/coder/checkpoints/."""
        try:
            head: str | None = self.repo.head.commit.hexsha
        except ValueError:
            head = None
        self.refuse_unmerged()
        tree = self.snapshot()
        index_tree = self.index_tree()
        parents = ["-p", head] if head else []
        index_commit = self._git("commit_tree", index_tree, *parents, "-m", "index")
        commit = self._git(
            "commit_tree", tree, *parents, "-p", index_commit, "-m", f"coder checkpoint: {label}"
        )
        ref = f"{REF_PREFIX}{time.time_ns()}"
        self._git("update_ref", ref, commit)
        return Checkpoint(ref, commit, tree)

    def index_of(self, checkpoint: Checkpoint) -> str:
        """The index tree a checkpoint recorded."""
        return str(
            _gitpython(self.ws.root)
            .Commit(self.repo, bytes.fromhex(checkpoint.commit))
            .parents[-1]
            .tree.hexsha
        )

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint, if any."""
        refs = sorted(
            (r for r in self.repo.refs if r.path.startswith(REF_PREFIX)),
            key=lambda r: int(r.path[len(REF_PREFIX) :]),
        )
        if not refs:
            return None
        commit = refs[-1].commit
        return Checkpoint(refs[-1].path, commit.hexsha, commit.tree.hexsha)

    def diff_since(self, checkpoint: Checkpoint) -> str:
        """Unified diff from the checkpoint to the working tree (untracked included)."""
        with self._index() as env:
            self._git("read_tree", checkpoint.tree, env=env)
            self._add_all(env)
            return self._git(
                "diff", "--cached", *DIFF_FLAGS, checkpoint.tree, "--no-color", env=env
            )


def create(ws: Workspace, label: str = "before coder run") -> Checkpoint:
    """Save the working tree and index; returns the checkpoint."""
    return GitStore(ws).checkpoint(label)


def latest(ws: Workspace) -> Checkpoint | None:
    """The newest checkpoint, if any. Refuses, in one line, a directory that is not a
    repository and one in the middle of a merge (or rebase, …) with unmerged paths."""
    store = GitStore(ws)
    store.refuse_unmerged()
    return store.latest()


def diff_since(ws: Workspace, checkpoint: Checkpoint) -> str:
    """Unified diff from the checkpoint to the current working tree (untracked included)."""
    return GitStore(ws).diff_since(checkpoint)
