"""Repository-context tools over the tree-sitter repo map."""

from __future__ import annotations

from coder.tools import ToolContext, tool

MAX_HITS = 60


def _listing(hits: list[str], empty: str) -> str:
    if not hits:
        return empty
    more = f"\n[… {len(hits) - MAX_HITS} more]" if len(hits) > MAX_HITS else ""
    return "\n".join(hits[:MAX_HITS]) + more


@tool
def repo_map(ctx: ToolContext, focus: str | None = None) -> str:
    """Show the ranked map of the repository: key files with their definitions' signatures.
    focus: a path or identifier to rank around (optional)
    """
    if ctx.repo_map is None:
        return "the repository map is not available"
    terms = [focus] if focus else []
    ctx.repo_map.refresh()
    return ctx.repo_map.render(tokens=ctx.repo_map_tokens, focus=[*terms, *ctx.edited_paths])


@tool
def find_symbol(ctx: ToolContext, name: str) -> str:
    """Find where a function, class or other symbol is defined; returns file:line: signature.
    name: the identifier, e.g. parse_date or Parser
    """
    if ctx.repo_map is None:
        return "the repository map is not available"
    ctx.repo_map.refresh()
    return _listing(ctx.repo_map.find_symbol(name), f"no definition of {name!r} found")


@tool
def find_references(ctx: ToolContext, name: str) -> str:
    """Find where a symbol is used; returns file:line: source line.
    name: the identifier
    """
    if ctx.repo_map is None:
        return "the repository map is not available"
    ctx.repo_map.refresh()
    return _listing(ctx.repo_map.find_references(name), f"no references to {name!r} found")
