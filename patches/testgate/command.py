"""Running an external test program on a candidate: no shell, a timeout, limits, bounded output.

The candidate is written to a temporary file. Every argv element equal to or containing
"{file}" gets that file's path substituted; when no element mentions "{file}" the path is
appended as the last argument. The program runs in that temporary directory with only PATH in
its environment, in its own process group (killed whole at the timeout), under resource limits
set in the child before exec: CPU seconds, address space, file size, no core dumps. Exit status
0 passes. At most OUTPUT_LIMIT bytes of stdout+stderr are kept; the rest is drained, counted
and dropped, so a program that prints megabytes cannot fill memory or the database.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

OUTPUT_LIMIT = 64 * 1024
ADDRESS_SPACE_LIMIT = 1024 * 1024 * 1024  # 1 GiB
FILE_SIZE_LIMIT = 16 * 1024 * 1024
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int | None  # None when killed at the timeout
    timed_out: bool
    output: str  # bounded to OUTPUT_LIMIT bytes, with a note when truncated
    output_bytes: int  # how much the program wrote in total

    @property
    def passed(self) -> bool:
        return not self.timed_out and self.exit_code == 0


def _limits(cpu_s: int) -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def command_argv(argv: Sequence[str], path: str) -> list[str]:
    if any("{file}" in arg for arg in argv):
        return [arg.replace("{file}", path) for arg in argv]
    return [*argv, path]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def command_run(*, argv: Sequence[str], candidate: str, timeout_s: float) -> CommandOutcome:
    """Run argv on the candidate; never raises for the program's behaviour, only reports it."""
    with tempfile.TemporaryDirectory(prefix="testgate-") as workdir:
        path = os.path.join(workdir, "candidate")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(candidate)
        cpu_s = max(1, int(timeout_s) + 1)
        try:
            process = subprocess.Popen(
                command_argv(argv, path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env={"PATH": SAFE_PATH},
                start_new_session=True,  # its own process group, so the timeout kills it all
                preexec_fn=lambda: _limits(cpu_s),
                close_fds=True,
            )
        except OSError as exc:
            return CommandOutcome(
                exit_code=None,
                timed_out=False,
                output=f"cannot start {argv[0]!r}: {exc}",
                output_bytes=0,
            )
        kept, total, timed_out = _collect(process, timeout_s)
        exit_code = None if timed_out else process.returncode
    text = kept.decode("utf-8", errors="replace")
    if total > len(kept):
        text += f"\n[output truncated: kept {len(kept)} of {total} bytes]"
    if timed_out:
        text += f"\n[killed after the {timeout_s:g} s timeout]"
    return CommandOutcome(exit_code=exit_code, timed_out=timed_out, output=text, output_bytes=total)


def _collect(process: subprocess.Popen[bytes], timeout_s: float) -> tuple[bytes, int, bool]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    kept = bytearray()
    total = 0
    timed_out = False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if not selector.select(min(remaining, 0.5)):
                if process.poll() is not None and not _readable(process):
                    break
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:  # EOF: every writer in the group closed its end
                break
            total += len(chunk)
            if len(kept) < OUTPUT_LIMIT:
                kept += chunk[: OUTPUT_LIMIT - len(kept)]
    if not timed_out:
        # EOF can come a moment before the exit status; the program still has its deadline.
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    # Kill the whole group either way: a finished program may have left children behind.
    _kill_group(process)
    try:
        process.wait(timeout=5)
    finally:
        process.stdout.close()
    return bytes(kept), total, timed_out


def _readable(process: subprocess.Popen[bytes]) -> bool:
    assert process.stdout is not None
    with selectors.DefaultSelector() as probe:
        probe.register(process.stdout, selectors.EVENT_READ)
        return bool(probe.select(0))
