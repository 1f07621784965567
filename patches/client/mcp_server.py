"""`python -m patches.client mcp`: the agent's MCP server over stdio (official `mcp` SDK, 2.x).

Configured by PATCH_CONSOLE_URL, PATCH_CONSOLE_TOKEN and PATCH_CONSOLE_KEY (the private key
file: it is read here and never sent). Tools are the contract's (agent_tools.py does the work);
Prompt targets are also offered as MCP prompts. A refusal of the console comes back as a tool
error (`isError`) whose text is the problem's title and detail, with the whole problem document
as structured content.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from patches.client import AgentClient, load_private_key, urllib_transport
from patches.client.agent_tools import AgentTools, ToolInputError
from patches.client.problems import ApiError, Unreachable
from patches.client.retry import retrying
from patches.client.sdk import TargetReader

logger = logging.getLogger("patches.client.mcp")

SERVER_NAME = "patch-console"
_ID = {"type": "integer", "minimum": 1, "description": "the proposal's id"}
_CONTENT = {
    "type": "string",
    "description": "the whole new content: text for a Prompt target, JSON text for the others; "
    "the patch is made and signed locally",
}
_PATCH = {
    "type": "string",
    "description": "a patch made by you: a unified diff (text targets) or an RFC 6902 JSON "
    "Patch document (JSON targets)",
}
_REASONING = {"type": "string", "minLength": 1, "description": "why: reviewers read this"}
_TESTS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "tests to run besides the target's mandatory ones",
}


def _tool(
    name: str, description: str, properties: dict[str, Any], required: list[str], **hints: bool
) -> types.Tool:
    return types.Tool(
        name=name,
        description=description,
        input_schema={
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
        annotations=types.ToolAnnotations.model_validate(hints),
    )


TOOLS = [
    _tool(
        "list_targets",
        "List the console's targets: name, patch_type, version, content_hash, labels.",
        {},
        [],
        read_only_hint=True,
    ),
    _tool(
        "read_target",
        "Read the version of a target a label serves you (default label: production). "
        "propose_patch makes its patch against the version read here.",
        {"name": {"type": "string"}, "label": {"type": "string"}},
        ["name"],
        read_only_hint=True,
    ),
    _tool(
        "propose_patch",
        "Propose a change to a target, signed with your key: give `content` (the whole new "
        "content) or `patch`. Made against the version you last read with read_target.",
        {
            "target": {"type": "string"},
            "content": _CONTENT,
            "patch": _PATCH,
            "reasoning": _REASONING,
            "tests": _TESTS,
        },
        ["target", "reasoning"],
        read_only_hint=False,
        destructive_hint=False,
    ),
    _tool(
        "proposal_status",
        "A proposal of yours: status, stage, tests, reviews with their comments, and whether "
        "it is stale (with the rebase state).",
        {"id": _ID},
        ["id"],
        read_only_hint=True,
    ),
    _tool(
        "revise_proposal",
        "Replace an open proposal of yours (e.g. after a reviewer requested changes) with a "
        "signed revision on the target's current version. Give `content` or `patch`; with "
        "neither, the console's rebase of a stale proposal is signed.",
        {
            "id": _ID,
            "content": _CONTENT,
            "patch": _PATCH,
            "reasoning": _REASONING,
            "tests": _TESTS,
        },
        ["id", "reasoning"],
        read_only_hint=False,
        destructive_hint=False,
    ),
    _tool(
        "withdraw_proposal",
        "Withdraw an open proposal of yours.",
        {"id": _ID},
        ["id"],
        read_only_hint=False,
        destructive_hint=True,
        idempotent_hint=True,
    ),
]
TOOL_NAMES = {tool.name for tool in TOOLS}


def _text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _error(text: str, structured: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=True,
    )


def _check_arguments(tool: types.Tool, arguments: dict[str, Any]) -> str | None:
    """What is wrong with the arguments, as the tool's schema says (None: nothing)."""
    schema = tool.input_schema
    properties: dict[str, Any] = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        return f"{tool.name} takes no argument {', '.join(unknown)}"
    missing = [name for name in schema["required"] if arguments.get(name) in (None, "")]
    if missing:
        return f"{tool.name} needs {', '.join(missing)}"
    kinds: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "array": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    }
    for name, value in arguments.items():
        if value is not None and not kinds[properties[name]["type"]](value):
            return f"{tool.name}: {name} must be {properties[name]['type']}"
    return None


def call(tools: AgentTools, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """Run one tool synchronously; every failure becomes a tool error the model can read."""
    tool = next((t for t in TOOLS if t.name == name), None)
    if tool is None:
        return _error(f"no tool named {name!r}; tools: {', '.join(sorted(TOOL_NAMES))}")
    wrong = _check_arguments(tool, arguments)
    if wrong:
        return _error(wrong)
    try:
        result: Any = getattr(tools, name)(**arguments)
    except ApiError as exc:
        title = exc.title or f"HTTP {exc.status}"
        return _error(f"{title}: {exc.detail}" if exc.detail else title, {"problem": exc.problem})
    except Unreachable as exc:
        return _error(f"Console unreachable: {exc}")
    except ToolInputError as exc:
        return _error(str(exc))
    structured = result if isinstance(result, dict) else {"targets": result}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_text(structured))],
        structured_content=structured,
    )


def build_server(tools: AgentTools) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        # The client is synchronous (urllib): run it off the event loop.
        return await anyio.to_thread.run_sync(call, tools, params.name, params.arguments or {})

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        try:
            rows = await anyio.to_thread.run_sync(tools.prompt_targets)
        except (ApiError, Unreachable) as exc:
            raise MCPError(types.INTERNAL_ERROR, f"cannot list prompts: {exc}") from exc
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=row["name"],
                    description=f"Prompt target {row['name']} (version {row['version']})",
                )
                for row in rows
            ]
        )

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        try:
            text, version = await anyio.to_thread.run_sync(
                tools.prompt_text, params.name, params.arguments
            )
        except (ApiError, Unreachable, ToolInputError) as exc:
            raise MCPError(types.INVALID_PARAMS, f"prompt {params.name}: {exc}") from exc
        return types.GetPromptResult(
            description=f"{params.name} version {version}",
            messages=[
                types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
            ],
        )

    return Server(
        SERVER_NAME,
        instructions="Read and propose changes to your behaviour targets; a human decides.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


def tools_from_environment(environ: dict[str, str] | None = None) -> AgentTools:
    env = os.environ if environ is None else environ
    missing = [
        name
        for name in ("PATCH_CONSOLE_URL", "PATCH_CONSOLE_TOKEN", "PATCH_CONSOLE_KEY")
        if not env.get(name)
    ]
    if missing:
        raise SystemExit(f"patches.client mcp: set {', '.join(missing)}")
    url, token = env["PATCH_CONSOLE_URL"], env["PATCH_CONSOLE_TOKEN"]
    try:
        key = load_private_key(Path(env["PATCH_CONSOLE_KEY"]).expanduser())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"patches.client mcp: PATCH_CONSOLE_KEY: {exc}") from None
    cache_dir = env.get("PATCH_CONSOLE_CACHE_DIR")
    return AgentTools(
        client=AgentClient(url=url, token=token, transport=retrying(urllib_transport())),
        private_key=key,
        reader=TargetReader(url=url, token=token, cache_dir=Path(cache_dir) if cache_dir else None),
    )


def serve() -> int:
    """Serve MCP on stdin/stdout until the host closes it. Logs go to stderr."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    server = build_server(tools_from_environment())

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(run)
    return 0
