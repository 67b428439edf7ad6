"""The emulator extends moto's SageMaker by subclassing, registered in one place, never by patching.

Run in a fresh interpreter: installing changes which BackendDict moto's modules name, and the
check must see moto's classes as moto made them before anything of the emulator was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import inspect, json, pathlib
import moto.sagemaker.models as models, moto.sagemaker.responses as responses, moto.sagemaker.utils as utils

def snapshot():
    return {
        "backend": {k: repr(v) for k, v in vars(models.SageMakerModelBackend).items()},
        "response": {k: repr(v) for k, v in vars(responses.SageMakerResponse).items()},
        "functions": {
            f"{module.__name__}.{name}": repr(value)
            for module in (models, utils)
            for name, value in vars(module).items()
            if inspect.isfunction(value)
        },
    }

before = snapshot()
from sagemaker_stack.local import moto_registry
from sagemaker_stack.local.sagemaker import models as ours
moto_registry.install()
ours.configure(ours.JobSettings("http://127.0.0.1:1", pathlib.Path("work"), pathlib.Path("images")))
import moto.backends
backends = moto.backends.get_backend("sagemaker")
backend = backends["123456789012"]["us-east-1"]
handler = list(backend.url_paths.values())[0]
print(json.dumps({
    "unchanged": before == snapshot(),
    "backend": type(backend).__module__ + "." + type(backend).__name__,
    "response": handler.__self__.__module__ + "." + handler.__self__.__name__,
    "moto_module_dict_is_ours": models.sagemaker_backends is ours.sagemaker_backends,
}))
"""


def test_moto_sagemaker_classes_stay_moto_s_own_and_the_server_dispatches_to_the_subclasses() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["unchanged"], "a function was assigned onto a moto SageMaker class or module"
    assert found["backend"] == "sagemaker_stack.local.sagemaker.models.SageMakerBackend"
    assert found["response"] == "sagemaker_stack.local.sagemaker.responses.SageMakerResponse"
    assert found["moto_module_dict_is_ours"]
