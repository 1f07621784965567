"""A C2SP tlog-witness: `python -m audit.witness --state-dir DIR --name NAME --log VKEY`.

No Django and no database: its own Ed25519 key and state live in DIR, so it can run on another
machine, under another operator, than the console it watches. It serves POST /add-checkpoint
(c2sp.org/tlog-witness) and cosigns (c2sp.org/tlog-cosignature, Ed25519) a checkpoint of a
log it trusts only when a consistency proof from the size it cosigned last verifies; it
refuses anything else with the status codes the spec gives. Checking the old size and
recording the new checkpoint happen under one lock, so two requests cannot roll it back.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from patches.client.tlog import (
    MAX_NOTE_BYTES,
    MAX_PROOF_HASHES,
    SIG_COSIGNATURE,
    SIG_ED25519,
    ProofError,
    Verifier,
    b64,
    cosign,
    note_verified_by,
    parse_checkpoint,
    parse_note,
    parse_vkey,
    unb64,
    verify_consistency,
)

KEY_FILE = "witness_ed25519.pem"
STATE_FILE = "state.json"
REFUSED_FILE = "refused.jsonl"
SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_BODY_BYTES = MAX_NOTE_BYTES + (MAX_PROOF_HASHES + 2) * 64


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    media_type: str = "text/plain; charset=utf-8"


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SystemExit(f"{path}: not an Ed25519 private key")
    return loaded


class Witness:
    """The witness's state and its add-checkpoint rule, without HTTP."""

    def __init__(self, state_dir: Path, name: str, logs: Sequence[Verifier]) -> None:
        self.state_dir = state_dir
        self.name = name
        self.key = _load_or_create_key(state_dir / KEY_FILE)
        self.logs: dict[str, list[Verifier]] = {}
        for log in logs:
            if log.sig_type != SIG_ED25519:
                raise ValueError(f"log key {log.name} is not a note signer key (type 0x01)")
            self.logs.setdefault(log.name, []).append(log)
        self._lock = threading.Lock()

    @property
    def verifier(self) -> Verifier:
        public = self.key.public_key().public_bytes_raw()
        return Verifier(name=self.name, public_key=public, sig_type=SIG_COSIGNATURE)

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        """The recorded state under a thread and a file lock; written back when the block ends
        without an exception (atomically: a crash leaves the old state or the new)."""
        path = self.state_dir / STATE_FILE
        with self._lock, (self.state_dir / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(path.read_text()) if path.exists() else {}
            before = json.dumps(state, sort_keys=True)
            yield state
            if json.dumps(state, sort_keys=True) != before:
                temporary = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    json.dump(state, handle, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)

    def cosigned(self, origin: str) -> tuple[int, bytes | None]:
        with self._state() as state:
            entry = state.get(origin)
        return (0, None) if entry is None else (entry["size"], unb64(entry["root"]))

    def _refused(self, origin: str, reason: str, body: str) -> None:
        """Keep a validly signed request the witness would not cosign: it may be evidence."""
        record = {"at": int(time.time()), "origin": origin, "reason": reason, "request": body}
        with (self.state_dir / REFUSED_FILE).open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def add_checkpoint(self, raw: bytes) -> Answer:
        if len(raw) > MAX_BODY_BYTES:
            return Answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large\n")
        try:
            old, proof, signed_note = _parse_request(raw)
            note = parse_note(signed_note)
            checkpoint = parse_checkpoint(note.text)
        except (ProofError, UnicodeDecodeError, ValueError) as exc:
            return Answer(HTTPStatus.BAD_REQUEST, f"malformed request: {exc}\n")
        trusted = self.logs.get(checkpoint.origin)
        if not trusted:
            return Answer(HTTPStatus.NOT_FOUND, f"unknown log origin {checkpoint.origin}\n")
        try:
            signed_by = note_verified_by(note, trusted)
        except ProofError as exc:
            return Answer(HTTPStatus.FORBIDDEN, f"{exc}\n")
        if not signed_by:
            return Answer(HTTPStatus.FORBIDDEN, "no signature by a trusted key of this log\n")
        if old > checkpoint.size:
            return Answer(HTTPStatus.BAD_REQUEST, "the old size exceeds the checkpoint's size\n")
        if old == 0 and proof:
            return Answer(HTTPStatus.BAD_REQUEST, "a proof from size 0 must be empty\n")
        with self._state() as state:
            entry = state.get(checkpoint.origin)
            size, root = (0, b"") if entry is None else (entry["size"], unb64(entry["root"]))
            if old != size:
                return Answer(HTTPStatus.CONFLICT, f"{size}\n", SIZE_MEDIA_TYPE)
            if old == checkpoint.size and root != checkpoint.root:
                self._refused(checkpoint.origin, "a different root at the same size", signed_note)
                return Answer(HTTPStatus.CONFLICT, f"{size}\n", SIZE_MEDIA_TYPE)
            if 0 < old < checkpoint.size:
                try:
                    verify_consistency(old, checkpoint.size, root, checkpoint.root, proof)
                except ProofError as exc:
                    self._refused(checkpoint.origin, str(exc), raw.decode())
                    return Answer(
                        HTTPStatus.UNPROCESSABLE_ENTITY,
                        f"not consistent with size {old}, which this witness cosigned: {exc}\n",
                    )
            state[checkpoint.origin] = {"size": checkpoint.size, "root": b64(checkpoint.root)}
        # Persisted above before answering, as the spec asks.
        signature = cosign(self.key, self.name, note.text, int(time.time()))
        return Answer(HTTPStatus.OK, signature.line)


def _parse_request(raw: bytes) -> tuple[int, list[bytes], str]:
    text = raw.decode("utf-8")
    head, separator, signed_note = text.partition("\n\n")
    if not separator:
        raise ProofError("the request has no empty line before the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    digits = first[4:]
    if not first.startswith("old ") or not digits.isdigit() or digits != str(int(digits)):
        raise ProofError("the first line is 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_HASHES:
        raise ProofError(f"at most {MAX_PROOF_HASHES} consistency proof lines")
    proof = [unb64(line, size=32) for line in lines[1:]]
    return int(digits), proof, signed_note


def _handler(witness: Witness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "patch-console-witness"

        def _answer(self, answer: Answer) -> None:
            body = answer.body.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if self.path.rstrip("/").rsplit("/", 1)[-1] != "add-checkpoint":
                self._answer(Answer(HTTPStatus.NOT_FOUND, "POST /add-checkpoint\n"))
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(Answer(HTTPStatus.LENGTH_REQUIRED, "Content-Length required\n"))
                return
            if not 0 <= length <= MAX_BODY_BYTES:
                self._answer(Answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large\n"))
                return
            self._answer(witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:
            self._answer(Answer(HTTPStatus.METHOD_NOT_ALLOWED, "POST /add-checkpoint\n"))

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"witness: {self.address_string()} {format % args}\n")

    return Handler


def serve(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """A server for the witness (not started: call serve_forever, or run it in a thread)."""
    return ThreadingHTTPServer((host, port), _handler(witness))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.witness", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True, help="key and state (0700)")
    parser.add_argument("--name", required=True, help="the witness key's name, e.g. w.example/1")
    parser.add_argument(
        "--log",
        action="append",
        default=[],
        help="a trusted log's verifier key (from `manage.py console_key`); repeatable",
    )
    parser.add_argument("--listen", default="127.0.0.1:7380", help="HOST:PORT to serve on")
    parser.add_argument(
        "--print-vkey", action="store_true", help="print this witness's verifier key and exit"
    )
    args = parser.parse_args(argv)
    try:
        logs = [parse_vkey(value) for value in args.log]
        witness = Witness(args.state_dir, args.name, logs)
    except (ProofError, ValueError) as exc:
        print(f"witness: {exc}", file=sys.stderr)
        return 2
    if args.print_vkey:
        print(witness.verifier.vkey)
        return 0
    if not logs:
        print("witness: give at least one --log VKEY to witness", file=sys.stderr)
        return 2
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        print(f"witness: --listen HOST:PORT, got {args.listen!r}", file=sys.stderr)
        return 2
    server = serve(witness, host or "127.0.0.1", int(port))
    print(
        f"witness {witness.verifier.vkey} on http://{host}:{server.server_address[1]}", flush=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
