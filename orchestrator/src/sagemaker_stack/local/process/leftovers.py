"""What a killed emulator leaves running: its step and build processes, ended when it starts again.

A stopped emulator ends its steps and builds itself; a killed one cannot, and they would go on
(writing to an endpoint that restarted, or to a ZenML server) for an execution that the restart
reports Failed. Each step runs with HOME set to its working folder and each build with HOME in
its build folder, both inside the state folder, and every process they start inherits it, so
those processes are found by that and nothing else, whatever they have become.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import psutil


def kill_leftovers(roots: Iterable[Path]) -> int:
    """SIGKILL every process of this user whose HOME is under one of `roots`; how many there were."""
    folders = [root.resolve() for root in roots]
    killed = 0
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            home = process.environ().get("HOME")
            if home and any(Path(home).is_relative_to(folder) for folder in folders):
                process.kill()
                killed += 1
        except (psutil.Error, OSError):
            continue  # another user's, or gone already
    return killed
