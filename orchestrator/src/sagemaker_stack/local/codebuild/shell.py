"""One shell session for a whole build, running the buildspec's commands one after another.

In buildspec version 0.2 every command of every phase runs in the same shell instance, so a
`cd`, an `export` or a plain assignment in one command is still there in the next. The session
is one `bash` (or `sh`) reading a fixed driver line per command from its stdin: the line sources
the command from a file (so a command with a syntax error fails with status 2 instead of leaving
the shell waiting for the rest of it), with stdin from /dev/null, then prints a marker with the
exit status. Output (stdout and stderr together) goes line by line to a sink, live.

A command that exits the shell fails with the shell's exit status; the next command gets a fresh
shell with the build's starting environment, as nothing of the old one survives. The shell runs
in its own session so that stopping or timing out the build kills everything it started.
"""

from __future__ import annotations

import base64
import contextlib
import queue
import re
import secrets
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sagemaker_stack.local.images.container import STOP_GRACE_SECONDS, LogSink, kill_group, terminate

#: Seconds between two looks at the stop flag and the deadline while a command runs.
_POLL_SECONDS = 0.2
#: Seconds to wait for the last output once the shell has ended.
_DRAIN_SECONDS = 2.0
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class CommandOutcome:
    returncode: int
    #: None, or why the command was cut off: "STOPPED" or "TIMED_OUT".
    interrupted: str | None = None


class ShellSession:
    def __init__(
        self,
        *,
        shell: str,
        environment: dict[str, str],
        work_dir: Path,
        scripts_dir: Path,
        sink: LogSink,
        stopped: Callable[[], bool],
        deadline: float,
    ) -> None:
        self._shell = shell
        self._environment = environment
        self._work_dir = work_dir
        self._scripts = scripts_dir
        self._sink = sink
        self._stopped = stopped
        self._deadline = deadline
        self._marker = f"__codebuild_command_done_{secrets.token_hex(8)}__"
        self._process: subprocess.Popen[bytes] | None = None
        self._events: queue.Queue[int | None] = queue.Queue()
        self._count = 0
        self._capture: list[str] | None = None
        scripts_dir.mkdir(parents=True, exist_ok=True)

    def run(self, command: str) -> CommandOutcome:
        """Run one command to its end, a stop or the deadline."""
        process = self._process if self._process is not None and self._process.poll() is None else None
        if process is None:
            process = self._start()
        self._count += 1
        script = self._scripts / f"command-{self._count}.sh"
        script.write_text(command + "\n")
        driver = (
            f'{{ . {shlex.quote(str(script))}; }} < /dev/null; printf "\\n%s %d\\n" {self._marker} "$?"\n'
        )
        assert process.stdin is not None
        try:
            process.stdin.write(driver.encode())
            process.stdin.flush()
        except OSError:
            pass  # the shell is gone; its exit status is the command's
        return self._wait(process)

    def set_variable(self, name: str, value: str) -> None:
        """Export `name` in the running shell, and in any shell started after it."""
        self._environment[name] = value
        if self._process is not None and self._process.poll() is None:
            self.run(f"export {name}={shlex.quote(value)}")

    def read_variables(self, names: Iterable[str]) -> dict[str, str]:
        """The current values of shell variables (for exported-variables), kept out of the log."""
        names = [name for name in names if _NAME.fullmatch(name)]
        if self._process is None or self._process.poll() is not None or not names:
            return {}
        lines: list[str] = []
        self._capture = lines
        try:
            self.run(
                "; ".join(
                    f'printf "%s %s\\n" {name} "$(printf %s "${{{name}}}" | base64 -w0)"' for name in names
                )
            )
        finally:
            self._capture = None
        values = {}
        for line in filter(None, lines):
            name, _, encoded = line.partition(" ")
            values[name] = base64.b64decode(encoded).decode("utf-8", errors="replace")
        return values

    def close(self) -> None:
        """End the shell and everything it left running."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_DRAIN_SECONDS)
        kill_group(process, signal.SIGKILL)

    def _start(self) -> subprocess.Popen[bytes]:
        self.close()
        arguments = [self._shell, "--noprofile", "--norc"] if self._shell == "bash" else [self._shell]
        process = subprocess.Popen(
            arguments,
            cwd=self._work_dir,
            env=self._environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._process = process
        self._events = queue.Queue()
        threading.Thread(target=self._pump, args=(process, self._events), daemon=True).start()
        return process

    def _wait(self, process: subprocess.Popen[bytes]) -> CommandOutcome:
        ended_at: float | None = None
        while True:
            try:
                event: int | None = self._events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                pass
            else:
                if event is not None:
                    return CommandOutcome(event)
                return self._ended(process)
            if ended_at is None and process.poll() is not None:
                ended_at = time.monotonic()
            elif ended_at is not None and time.monotonic() - ended_at > _DRAIN_SECONDS:
                return self._ended(process)  # a child it left behind still holds its output open
            interrupted = (
                "STOPPED" if self._stopped() else "TIMED_OUT" if time.monotonic() > self._deadline else None
            )
            if interrupted:
                terminate(process)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=STOP_GRACE_SECONDS * 2)
                kill_group(process, signal.SIGKILL)
                self._process = None
                return CommandOutcome(-1, interrupted)

    def _ended(self, process: subprocess.Popen[bytes]) -> CommandOutcome:
        """The shell itself ended: its exit status (128 + n for signal n) is the command's."""
        returncode = process.wait()
        kill_group(process, signal.SIGKILL)
        self._process = None
        return CommandOutcome(returncode if returncode >= 0 else 128 - returncode)

    def _pump(self, process: subprocess.Popen[bytes], events: queue.Queue[int | None]) -> None:
        """Output lines to the sink as they come, markers to `events`, None at the end.

        The driver prints a line break before each marker, so the marker always starts a line;
        the empty line that leaves after output that ended with one is dropped like every empty
        line (CloudWatch Logs takes no empty events).
        """
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.startswith(self._marker):
                events.put(int(line.split()[-1]))
            elif self._capture is not None:
                self._capture.append(line)
            elif line:
                self._sink.write(line)
        events.put(None)
