"""The agent client's command line: keygen, submit, revise, rebase, status, wait, withdraw, target,
observed, proof, mcp."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from patches.client import (
    AgentClient,
    ApiError,
    key_id_of,
    keygen,
    load_private_key,
    public_key_pem,
)
from patches.client.tlog import add_proof_command, run_proof_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m patches.client", description=__doc__)
    parser.add_argument(
        "--url", default=os.environ.get("PATCH_CONSOLE_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--token", default=os.environ.get("PATCH_CONSOLE_TOKEN", ""))
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser(
        "keygen", help="write a new private key (0600) and print the public key"
    )
    gen.add_argument("--out", required=True, type=Path, help="private key file to create")

    submit = commands.add_parser(
        "submit", help="sign and submit a proposal against the current version"
    )
    submit.add_argument("target")
    submit.add_argument("--key", required=True, type=Path, help="private key PEM")
    group = submit.add_mutually_exclusive_group(required=True)
    group.add_argument("--patch-file", type=Path, help="a unified diff or JSON Patch, as is")
    group.add_argument(
        "--new-content-file", type=Path, help="the whole new content; the patch is made here"
    )
    reasons = submit.add_mutually_exclusive_group(required=True)
    reasons.add_argument("--reasoning")
    reasons.add_argument("--reasoning-file", type=Path)
    submit.add_argument(
        "--test", action="append", default=[], dest="tests", help="a test to run (repeatable)"
    )
    submit.add_argument("--wait", action="store_true", help="then wait for the decision")

    revise = commands.add_parser(
        "revise", help="sign and submit a revision of an open proposal (docs/revisions.md)"
    )
    revise.add_argument("id", type=int, help="the proposal to revise")
    revise.add_argument("--key", required=True, type=Path, help="private key PEM")
    changes = revise.add_mutually_exclusive_group(required=True)
    changes.add_argument("--patch-file", type=Path, help="a unified diff or JSON Patch, as is")
    changes.add_argument(
        "--new-content-file", type=Path, help="the whole new content; the patch is made here"
    )
    why = revise.add_mutually_exclusive_group(required=True)
    why.add_argument("--reasoning")
    why.add_argument("--reasoning-file", type=Path)
    revise.add_argument(
        "--test", action="append", default=[], dest="tests", help="a test to run (repeatable)"
    )
    revise.add_argument("--wait", action="store_true", help="then wait for the decision")

    rebase = commands.add_parser(
        "rebase",
        help="re-make a stale proposal against the current version and sign it as a revision",
    )
    rebase.add_argument("id", type=int, help="the stale proposal")
    rebase.add_argument("--key", type=Path, help="private key PEM (not needed with --dry-run)")
    rebase.add_argument("--reasoning", help="default: the rebase, and the version it is on")
    rebase.add_argument(
        "--dry-run", action="store_true", help="print the rebased patch; sign and submit nothing"
    )
    rebase.add_argument("--wait", action="store_true", help="then wait for the decision")

    for name, text in (("status", "show a proposal"), ("withdraw", "withdraw an open proposal")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("id", type=int)
    wait = commands.add_parser("wait", help="poll until the proposal is decided")
    wait.add_argument("id", type=int)
    wait.add_argument("--timeout", type=float, default=600.0)

    target = commands.add_parser("target", help="show a target's current (or an earlier) version")
    target.add_argument("name")
    target.add_argument("--version", type=int)
    target.add_argument("--if-none-match", help="an ETag; prints nothing if it is still current")
    target.add_argument("--content-only", action="store_true", help="print only the content")
    target.add_argument("--label", help="the label to read (default: production)")
    target.add_argument("--instance", help="this instance's name (default: the agent's name)")

    observed = commands.add_parser("observed", help="report what an instance runs now")
    observed.add_argument("name")
    observed.add_argument("--instance", required=True)
    observed.add_argument("--content-hash", required=True, help='"sha256:" + 64 hex')
    observed.add_argument("--label", help="the label the instance reads (default: production)")
    add_proof_command(commands)

    commands.add_parser(
        "mcp",
        help="serve MCP over stdio (needs the mcp extra; configured by PATCH_CONSOLE_URL, "
        "PATCH_CONSOLE_TOKEN and PATCH_CONSOLE_KEY)",
    )
    return parser


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _submit(client: AgentClient, args: argparse.Namespace) -> dict[str, Any]:
    key = load_private_key(args.key)
    reasoning = (
        args.reasoning if args.reasoning is not None else args.reasoning_file.read_text("utf-8")
    )
    if args.patch_file is not None:
        return client.propose(
            private_key=key,
            target=args.target,
            reasoning=reasoning,
            patch=args.patch_file.read_text("utf-8"),
            test_requirements=args.tests,
        )
    raw = args.new_content_file.read_text("utf-8")
    current, _ = client.target(args.target)
    assert current is not None
    new_content = raw if isinstance(current["content"], str) else json.loads(raw)
    return client.propose(
        private_key=key,
        target=args.target,
        reasoning=reasoning,
        new_content=new_content,
        test_requirements=args.tests,
    )


def _revise(client: AgentClient, args: argparse.Namespace) -> dict[str, Any]:
    key = load_private_key(args.key)
    reasoning = (
        args.reasoning if args.reasoning is not None else args.reasoning_file.read_text("utf-8")
    )
    if args.patch_file is not None:
        return client.revise(
            args.id,
            private_key=key,
            reasoning=reasoning,
            patch=args.patch_file.read_text("utf-8"),
            test_requirements=args.tests,
        )
    raw = args.new_content_file.read_text("utf-8")
    replaced = client.status(args.id)
    current, _ = client.target(replaced["target"])
    assert current is not None
    return client.revise(
        args.id,
        private_key=key,
        reasoning=reasoning,
        new_content=raw if isinstance(current["content"], str) else json.loads(raw),
        test_requirements=args.tests,
    )


def _rebase(client: AgentClient, args: argparse.Namespace) -> dict[str, Any] | None:
    if args.dry_run:
        _print(client.rebase(args.id))
        return None
    if args.key is None:
        raise SystemExit("rebase needs --key to sign the revision (or --dry-run)")
    rebased = client.rebase(args.id)
    reasoning = args.reasoning or (
        f"Rebased proposal {args.id} on version {rebased['base_version']}; the change is "
        f"{'the same' if rebased['same_change'] else 'different'}."
    )
    return client.rebase_and_revise(
        args.id, private_key=load_private_key(args.key), reasoning=reasoning
    )


def main(argv: list[str] | None = None, client: AgentClient | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "keygen":
        try:
            key = keygen(args.out)
        except FileExistsError:
            print(f"{args.out} exists; refusing to overwrite a key", file=sys.stderr)
            return 2
        pem = public_key_pem(key)
        public_path = args.out.with_name(args.out.name + ".pub")
        public_path.write_text(pem, "ascii")
        print(pem, end="")
        _print(
            {
                "key_id": key_id_of(key),
                "private_key_file": str(args.out),
                "public_key_file": str(public_path),
            }
        )
        return 0
    if args.command == "mcp":
        # Imported here: the mcp SDK is an optional extra, and no other command needs it.
        try:
            from patches.client.mcp_server import serve
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] not in ("mcp", "mcp_types", "anyio"):
                raise
            print(
                f"the MCP server needs the mcp SDK ({exc.name} is missing): "
                "pip install 'patch-console-client[mcp]'",
                file=sys.stderr,
            )
            return 2
        return serve()
    if client is None:
        if not args.token:
            print("no token: pass --token or set PATCH_CONSOLE_TOKEN", file=sys.stderr)
            return 2
        client = AgentClient(url=args.url, token=args.token)
    try:
        if args.command in ("submit", "revise", "rebase"):
            made = {"submit": _submit, "revise": _revise, "rebase": _rebase}[args.command]
            result = made(client, args)
            if result is None:  # rebase --dry-run
                return 0
            _print(result)
            if args.wait:
                result = client.wait(result["id"])
                _print(result)
            return 0 if result["status"] != "rejected" else 1
        if args.command == "status":
            _print(client.status(args.id))
        elif args.command == "withdraw":
            _print(client.withdraw(args.id))
        elif args.command == "wait":
            result = client.wait(args.id, timeout=args.timeout)
            _print(result)
            return 0 if result["status"] == "applied" else 1
        elif args.command == "proof":
            return run_proof_command(client, args)
        elif args.command == "target":
            if args.version is not None:
                body: dict[str, Any] | None = client.target_version(args.name, args.version)
            else:
                body, etag = client.target(
                    args.name, etag=args.if_none_match, label=args.label, instance=args.instance
                )
                if body is None:
                    print(f"not modified: {etag}", file=sys.stderr)
                    return 0
            assert body is not None
            if args.content_only:
                content = body["content"]
                print(
                    content if isinstance(content, str) else json.dumps(content, indent=2), end=""
                )
            else:
                _print(body)
        elif args.command == "observed":
            client.observed(
                args.name, instance=args.instance, content_hash=args.content_hash, label=args.label
            )
    except ApiError as exc:
        _print(exc.problem)
        print(str(exc), file=sys.stderr)
        return 1
    except TimeoutError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
