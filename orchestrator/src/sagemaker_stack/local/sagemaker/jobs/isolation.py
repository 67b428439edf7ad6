"""A private /opt/ml for each job: the container paths a SageMaker job's channels use.

On SageMaker every job has its own container, so `/opt/ml/processing/input/data/train` or
`/opt/ml/model` of one job are never those of another, nor the host's. Here a job is a local
process, so on Linux each one gets a private mount namespace in which a folder of the job's own
is bind-mounted on `/opt/ml`; every other path is the host's. The host's `/opt` is left as it
is: a tmpfs-backed overlay on `/opt`, inside the namespace only, gives the bind mount a mount
point when the host has no `/opt/ml` (creating one would write to the host).

Two ways to get the namespace, tried once per emulator process:
- as root (CI, containers with CAP_SYS_ADMIN): `unshare --mount`;
- as an ordinary user, where the kernel allows unprivileged user namespaces: `unshare --user
  --map-root-user --mount` (the job then runs as root of its own user namespace, as a SageMaker
  container runs as root; files it writes belong to the emulator's user).
`unshare` and `mount` are util-linux's. Where neither works (macOS, a kernel or container that
forbids them), `available()` says why and the engine decides what the job may still do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

#: The container path the job's own folder is mounted on.
CONTAINER_ROOT = "/opt/ml"
#: Runs inside the new namespace, then becomes the job's command. sh sets PWD, which a container
#: does not have: it is unset again before the command starts.
_SETUP = """set -e
layer=$1 ml=$2; shift 2
mount -t tmpfs -o mode=0755 sagemaker-stack-opt "$layer"
mkdir "$layer/upper" "$layer/work"
mount -t overlay -o "lowerdir=/opt,upperdir=$layer/upper,workdir=$layer/work" sagemaker-stack-opt /opt
mkdir -p /opt/ml
mount --bind "$ml" /opt/ml
unset PWD OLDPWD
exec "$@"
"""
_PRIVILEGED = ("unshare", "--mount", "--propagation", "private", "--")
_UNPRIVILEGED = ("unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "--")
_PROBE_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Isolation:
    """How this machine gives a job its own /opt/ml, or why it cannot."""

    prefix: tuple[str, ...] | None  # the unshare command, None when unavailable
    reason: str = ""  # why it is unavailable

    @property
    def available(self) -> bool:
        return self.prefix is not None

    def command(self, command: list[str], *, ml_dir: Path, layer_dir: Path) -> list[str]:
        """`command` run with `ml_dir` as its /opt/ml (`layer_dir`: an empty folder of the job's)."""
        if self.prefix is None:
            raise RuntimeError(f"no private {CONTAINER_ROOT} on this machine: {self.reason}")
        return [*self.prefix, "sh", "-c", _SETUP, "sh", str(layer_dir), str(ml_dir), *command]


_lock = threading.Lock()
_found: list[Isolation] = []


def available() -> Isolation:
    """This machine's way to isolate a job, found on first use (one short probe process)."""
    with _lock:
        if not _found:
            _found.append(_probe())
        return _found[0]


def _probe() -> Isolation:
    missing = [tool for tool in ("unshare", "mount", "sh") if shutil.which(tool) is None]
    if missing:
        return Isolation(None, f"this system has no {', '.join(missing)} (Linux util-linux tools)")
    if not Path("/opt").is_dir():
        return Isolation(None, "this system has no /opt folder to mount /opt/ml under")
    candidates = [_PRIVILEGED, _UNPRIVILEGED] if os.geteuid() == 0 else [_UNPRIVILEGED]
    errors: list[str] = []
    for prefix in candidates:
        isolation = Isolation(prefix)
        with tempfile.TemporaryDirectory(prefix="sagemaker-stack-isolation-") as scratch:
            ml_dir, layer_dir = Path(scratch, "ml"), Path(scratch, "layer")
            ml_dir.mkdir()
            layer_dir.mkdir()
            probe = ["sh", "-c", f'echo ok > {CONTAINER_ROOT}/probe && test ! -e "$1/probe"', "sh", scratch]
            try:
                completed = subprocess.run(
                    isolation.command(probe, ml_dir=ml_dir, layer_dir=layer_dir),
                    capture_output=True,
                    text=True,
                    timeout=_PROBE_TIMEOUT_SECONDS,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                errors.append(f"`{' '.join(prefix[:-1])}`: {error}")
                continue
            if completed.returncode == 0 and (ml_dir / "probe").read_text(errors="replace").strip() == "ok":
                return isolation
            detail = (completed.stderr.strip().splitlines() or [f"exit {completed.returncode}"])[-1]
            errors.append(f"`{' '.join(prefix[:-1])}`: {detail}")
    return Isolation(None, "; ".join(errors))
