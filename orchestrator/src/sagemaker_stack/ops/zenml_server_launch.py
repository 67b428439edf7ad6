"""`python -m sagemaker_stack.ops.zenml_server_launch KEY_FILE FD APP`: the local ZenML server.

uvicorn serving ZenML's server app `APP` on the listening socket `FD`, which the parent bound
before starting us (so the port is never free for another program to take between its choice and
the server's start), with the SQL secrets store's encryption key read from `KEY_FILE` (mode 0600;
`-` for none: a database made before keys existed) by this process itself.
Why not `ZENML_SECRETS_STORE_ENCRYPTION_KEY` in the environment of `Popen`: a process's start-up
environment is readable in /proc for its lifetime and goes to every child. Set here, ZenML reads
it when it configures its store at start (`GlobalConfiguration.get_store_configuration`) and it
never appears in the process's /proc environment.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    key_file, fd, app = argv
    if key_file != "-":
        os.environ["ZENML_SECRETS_STORE_TYPE"] = "sql"
        os.environ["ZENML_SECRETS_STORE_ENCRYPTION_KEY"] = Path(key_file).read_text().strip()
    import uvicorn

    # socket(fileno=) reads the family from the descriptor (uvicorn's own `--fd` assumes a Unix
    # socket); the server serves on it as on one it bound itself.
    listener = socket.socket(fileno=int(fd))
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])


if __name__ == "__main__":
    main(sys.argv[1:])
