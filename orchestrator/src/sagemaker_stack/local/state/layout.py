"""The emulator's state folder, named in one place: what each file and folder in it is for.

    <state dir>/emulator.pid        the server's pid, written once it listens (process.server)
    <state dir>/emulator.port       its port
    <state dir>/emulator.log        what it says (process.emulator starts it with this as output)
    <state dir>/job-startup.json    the start-up table by instance type it was started with, if any
    <state dir>/state/              the saved state: the snapshot and its blobs (state.snapshot)
    <state dir>/executions/         the pipeline steps' work folders (sagemaker)
    <state dir>/codebuild/bin/      the `docker` stand-in builds find on their PATH (codebuild)
    <state dir>/codebuild/builds/   one folder per running build
    <state dir>/images/             the image store, EMULATOR_IMAGE_STORE of the builds (images)
    <state dir>/.gitignore          keeps the folder out of git and so of ZenML's code archive

The process that serves (process/) and the code that saves and restores (state/) both name
these; the services get the folders they use from the server at install.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PID_FILE = "emulator.pid"
PORT_FILE = "emulator.port"
LOG_FILE = "emulator.log"
STARTUP_TABLE_FILE = "job-startup.json"  # the table `Emulator(job_startup_table=...)` hands the server
WORK_FOLDER = "executions"
CODEBUILD_FOLDER = "codebuild"
BUILDS_FOLDER = "codebuild/builds"  # one folder per running build
IMAGES_FOLDER = "images"  # the image store, EMULATOR_IMAGE_STORE of the emulator's builds
STATE_FOLDER = "state"  # the saved state: the snapshot and its blobs
SNAPSHOT_FILE = "snapshot"
BLOBS_FOLDER = "blobs"

#: Written into a state folder: git, and so ZenML's code archive (`git ls-files --exclude-standard`),
#: leave the folder out when it ends up inside a project.
IGNORE_FILE = ".gitignore"
IGNORE_TEXT = "# the state of a sagemaker-stack emulator or local environment: never commit or upload it\n*\n"


def make_private_state_dir(folder: Path, markers: Iterable[str] = (LOG_FILE, STATE_FOLDER, PID_FILE)) -> None:
    """Create `folder` (mode 0700: step work folders and saved secrets are its user's alone) with
    its ignore file. An existing folder gets both only when it is empty or holds one of `markers`
    (a state folder of an earlier version): a folder of the user's own is left as it is."""
    if folder.exists() and any(folder.iterdir()) and not any((folder / name).exists() for name in markers):
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    ignore = folder / IGNORE_FILE
    if not ignore.exists():
        with os.fdopen(os.open(ignore, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(IGNORE_TEXT)


def state_dir_problem(state_dir: Path) -> str | None:
    """Why the emulator cannot keep its state in `state_dir` (None if it can): the folder and
    its saved state (`state/`, if there is one yet) must be writable."""
    for folder in (state_dir, state_dir / STATE_FOLDER):
        try:
            if folder == state_dir:
                make_private_state_dir(folder)
            elif not folder.exists():
                continue
            probe = folder / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            reason = error.strerror or str(error)
            return f"state folder {folder} is not writable ({reason}); choose another with --state-dir"
    return None
