"""`python -m sagemaker_stack.ops.zenml_server_launch KEY_FILE APP [uvicorn options]`: the local ZenML server.

uvicorn serving ZenML's server app, with the SQL secrets store's encryption key read from
`KEY_FILE` (mode 0600; `-` for none: a database made before keys existed) by this process itself.
Why not `ZENML_SECRETS_STORE_ENCRYPTION_KEY` in the environment of `Popen`: a process's start-up
environment is readable in /proc for its lifetime and goes to every child. Set here, ZenML reads
it when it configures its store at start (`GlobalConfiguration.get_store_configuration`) and it
never appears in the process's /proc environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    key_file, *uvicorn_arguments = argv
    if key_file != "-":
        os.environ["ZENML_SECRETS_STORE_TYPE"] = "sql"
        os.environ["ZENML_SECRETS_STORE_ENCRYPTION_KEY"] = Path(key_file).read_text().strip()
    import uvicorn

    sys.argv = ["uvicorn", *uvicorn_arguments]
    uvicorn.main()


if __name__ == "__main__":
    main(sys.argv[1:])
