"""Error hierarchy with exit codes, and the agent loop's control-flow exceptions.

User-facing errors are `CoderError` subclasses; the CLI prints their message on one line
and exits with their `exit_code`. The loop's control exceptions carry their outcome.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PROVIDER = 3
EXIT_CODES = {
    "passed": EXIT_OK,
    "failed": EXIT_FAILED,
    "budget_exhausted": EXIT_FAILED,
    "interrupted": EXIT_FAILED,
    "error": EXIT_PROVIDER,
}
"""The one table from a run's outcome to the exit code."""


class CoderError(Exception):
    """An error the user can act on; shown as one line, never a traceback."""

    exit_code: int = EXIT_FAILED


class UsageError(CoderError):
    """Bad flags, bad config, bad input file."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A configuration file or value is invalid."""


class ProviderError(CoderError):
    """The model or its server is unreachable or failing."""

    exit_code = EXIT_PROVIDER


class ContextOverflow(ProviderError):
    """The endpoint refused the request because the conversation exceeds its context."""


class WorkspaceError(CoderError):
    """A path or command was refused by the workspace (escape, .git/, missing file)."""


class PatchError(CoderError):
    """A diff could not be parsed or applied."""


class CheckpointError(CoderError):
    """A checkpoint could not be made or restored."""


class SandboxError(CoderError):
    """The sandbox cannot start, so commands are refused (a configuration problem)."""

    exit_code = EXIT_USAGE


class AgentControl(Exception):
    """Base of the loop's control-flow exceptions; handled only in agent.run."""


class FinishRequested(AgentControl):
    """The model called `finish(summary)`."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


class BudgetExhausted(AgentControl):
    """The turn (or token) budget ran out."""


class Interrupted(AgentControl):
    """The user interrupted the run (Ctrl-C, Esc)."""


class RepeatedCall(AgentControl):
    """The model kept making the same call although it was told to change course."""
