"""The witness (python -m audit.witness) over HTTP: it cosigns a checkpoint only with a valid
consistency proof from the size it cosigned last, and refuses the rest with tlog-witness codes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.witness import STATE_FILE, Witness, serve
from patches.client.tlog import (
    Checkpoint,
    Note,
    Verifier,
    b64,
    note_sign,
    parse_signature_lines,
    signature_verifies,
)
from patches.merkle import CompactRange, consistency_proof

ORIGIN = "log.test/one"
ROOT = Path(__file__).resolve().parents[2]


class Log:
    """A log of n entries with its stored nodes, signing checkpoint notes with its own key."""

    def __init__(self, key: Ed25519PrivateKey | None = None, salt: bytes = b"") -> None:
        self.key = key or Ed25519PrivateKey.generate()
        self.salt = salt
        self.tree = CompactRange()
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.roots: dict[int, bytes] = {}

    @property
    def verifier(self) -> Verifier:
        return Verifier(name=ORIGIN, public_key=self.key.public_key().public_bytes_raw())

    def grow(self, to: int) -> None:
        while self.tree.size < to:
            entry = hashlib.sha256(self.salt + self.tree.size.to_bytes(8, "big")).digest()
            for level, index, digest in self.tree.append(entry):
                self.nodes[(level, index)] = digest
            self.roots[self.tree.size] = self.tree.root

    def note(self, size: int) -> str:
        body = Checkpoint(origin=ORIGIN, size=size, root=self.roots[size]).body
        return Note(text=body, signatures=(note_sign(self.key, ORIGIN, body),)).render()

    def proof(self, old: int, new: int) -> list[bytes]:
        if old in (0, new):
            return []
        return consistency_proof(old, new, lambda wanted: {k: self.nodes[k] for k in wanted})


def request_body(old: int, proof: list[bytes], note: str) -> bytes:
    return ("".join([f"old {old}\n", *(b64(p) + "\n" for p in proof), "\n", note])).encode()


@pytest.fixture
def log() -> Log:
    log = Log()
    log.grow(100)
    return log


@pytest.fixture
def witness(tmp_path: Path, log: Log):
    witness = Witness(tmp_path / "witness", "witness.test/w1", [log.verifier])
    server = serve(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    witness.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield witness
    server.shutdown()
    server.server_close()


def post(witness, body: bytes) -> tuple[int, str, str]:
    url = witness.url + "/add-checkpoint"
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.headers.get_content_type(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read().decode()


def submit(witness, log: Log, old: int, new: int, proof: list[bytes] | None = None):
    proof = log.proof(old, new) if proof is None else proof
    return post(witness, request_body(old, proof, log.note(new)))


def test_it_cosigns_a_first_checkpoint_and_then_one_consistent_with_it(witness, log):
    status, _, body = submit(witness, log, 0, 10)
    assert status == 200
    (line,) = parse_signature_lines(body.rstrip("\n").split("\n"))
    text = log.note(10).split("\n\n")[0] + "\n"
    assert signature_verifies(witness.verifier, text, line)
    assert line.key_id == witness.verifier.key_id
    assert submit(witness, log, 10, 100)[0] == 200
    assert witness.cosigned(ORIGIN) == (100, log.roots[100])


def test_a_wrong_old_size_gets_409_with_the_size_it_cosigned(witness, log):
    submit(witness, log, 0, 10)
    status, media_type, body = submit(witness, log, 7, 100)
    assert (status, media_type, body) == (409, "text/x.tlog.size", "10\n")
    assert witness.cosigned(ORIGIN)[0] == 10


def test_a_checkpoint_of_a_rewritten_history_is_refused_with_422(witness, log):
    submit(witness, log, 0, 10)
    forked = Log(key=log.key, salt=b"rewritten")
    forked.grow(100)
    status, _, body = post(witness, request_body(10, forked.proof(10, 100), forked.note(100)))
    assert status == 422 and "not consistent" in body
    # Nor can the fork's own proof be bent to the original's: a corrupted one is refused too.
    bad = log.proof(10, 100)
    bad[0] = bytes(32)
    assert submit(witness, log, 10, 100, proof=bad)[0] == 422
    assert witness.cosigned(ORIGIN) == (10, log.roots[10])
    assert (witness.state_dir / "refused.jsonl").read_text().count("\n") == 2


def test_the_same_size_with_another_root_is_a_conflict(witness, log):
    submit(witness, log, 0, 10)
    forked = Log(key=log.key, salt=b"rewritten")
    forked.grow(10)
    status, _, body = post(witness, request_body(10, [], forked.note(10)))
    assert (status, body) == (409, "10\n")
    assert submit(witness, log, 10, 10)[0] == 200  # the same checkpoint again is fine


def test_unknown_logs_untrusted_signatures_and_malformed_requests_are_refused(witness, log):
    stranger = Log()
    stranger.grow(5)
    assert post(witness, request_body(0, [], stranger.note(5)))[0] == 403  # origin known, key not
    other = Log()
    other.grow(5)
    body = Checkpoint(origin="other.test/log", size=5, root=other.roots[5]).body
    note = Note(text=body, signatures=(note_sign(other.key, "other.test/log", body),)).render()
    assert post(witness, request_body(0, [], note))[0] == 404
    assert submit(witness, log, 20, 10, proof=[])[0] == 400  # old beyond the checkpoint
    assert submit(witness, log, 0, 10, proof=[bytes(32)])[0] == 400  # proof from size 0
    assert post(witness, b"old 01\n\n" + log.note(10).encode())[0] == 400
    assert post(witness, b"no blank line")[0] == 400
    assert post(witness, b"x" * 200_000)[0] == 413
    assert not (witness.state_dir / STATE_FILE).exists()


def test_its_state_survives_a_restart(tmp_path, log):
    first = Witness(tmp_path / "w", "witness.test/w1", [log.verifier])
    assert first.add_checkpoint(request_body(0, [], log.note(10))).status == 200
    again = Witness(tmp_path / "w", "witness.test/w1", [log.verifier])
    assert again.verifier == first.verifier
    assert again.add_checkpoint(request_body(0, [], log.note(20))).status == 409
    assert (tmp_path / "w" / "witness_ed25519.pem").stat().st_mode & 0o077 == 0


def test_the_command_prints_its_verifier_key_and_runs_without_django(tmp_path, log):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.witness",
            "--state-dir",
            str(tmp_path / "w"),
            "--name",
            "witness.test/w1",
            "--print-vkey",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("witness.test/w1+")
    imports = subprocess.run(
        [sys.executable, "-c", "import sys, audit.witness; print('django' in sys.modules)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imports.stdout.strip() == "False", imports.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.witness",
            "--state-dir",
            str(tmp_path / "w"),
            "--name",
            "witness.test/w1",
            "--log",
            "not-a-key",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "verifier key" in bad.stderr
