"""The default profile: a capable model with the whole tool set, diffs and a large map."""

from __future__ import annotations

from coder import prompts
from coder.conversation import AssistantTurn, Conversation, ToolSpec, UserText
from coder.protocols import Refusal, View
from coder.results import CheckRun

TOOLS = (
    "read_file", "list_files", "search", "repo_map", "find_symbol", "find_references",
    "apply_diff", "run", "run_checks", "update_plan", "finish",
)  # fmt: skip


class DefaultProfile:
    """What a frontier model (or any model not known to be small) gets; see Profile."""

    name = "default"
    tools: tuple[str, ...] = TOOLS
    prompt_variant: str | None = None
    shows_named_files = False

    def __init__(self, repo_map_tokens: int | None = None) -> None:
        self.repo_map_tokens = repo_map_tokens or 4096

    def head(self, task: str, checks: str, tools: list[ToolSpec]) -> tuple[str, UserText]:
        """The plain system prompt and task; the tools are declared natively."""
        return prompts.render("system"), UserText(prompts.render("task", task=task, checks=checks))

    def view(self, conversation: Conversation) -> View:
        """The whole conversation, as it is."""
        return View(conversation)

    def interpret(
        self, turn: AssistantTurn, tools: list[ToolSpec], conversation: Conversation | None = None
    ) -> AssistantTurn:
        """The provider's parse stands."""
        return turn

    def no_calls(self, turn: AssistantTurn, conversation: Conversation) -> UserText:
        """A reminder to call a tool."""
        names = ", ".join(self.tools)
        return UserText(prompts.render("no_tool_call", tools=names), kind="hint")

    def finish_refused(self, runs: list[CheckRun], conversation: Conversation) -> Refusal:
        """Nothing beyond the refusal: the model reads the failures and carries on."""
        return Refusal(runs)
