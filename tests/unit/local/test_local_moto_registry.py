"""The emulator extends moto by subclassing, registered in one place, and patches none of moto's classes.

The install runs in a fresh interpreter (it changes moto for the whole process): every class and
function of every moto module the emulator imports is noted before it, and must be the same
object with the same attributes after it; and each service's BackendDict, and CloudFormation's
type map, must hand out the emulator's subclasses.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
LOCAL = REPO / "orchestrator" / "src" / "sagemaker_stack" / "local"
ACCOUNT, REGION = "123456789012", "us-east-1"


def _moto_imports() -> list[str]:
    """Every moto module the emulator's code imports by name."""
    found: set[str] = set()
    for path in LOCAL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "moto":
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "moto")
    return sorted(found)


def _moto_objects() -> dict[str, dict[str, int]]:
    """Each class of moto's loaded modules: its attributes (name -> object id); each module: its functions."""
    seen: dict[str, dict[str, int]] = {}
    for name, module in list(sys.modules.items()):
        if not (name == "moto" or name.startswith("moto.")) or module is None:
            continue
        functions = {}
        for attribute, value in list(vars(module).items()):
            if isinstance(value, type) and value.__module__ == name:
                seen[f"{name}.{value.__qualname__}"] = {key: id(item) for key, item in vars(value).items()}
            elif callable(value) and getattr(value, "__module__", None) == name:
                functions[attribute] = id(value)
        seen[name] = functions
    return seen


def _changes(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> list[str]:
    changes = []
    for owner, attributes in before.items():
        now = after.get(owner, {})
        changes += [
            f"{owner}.{key}"
            for key in sorted(set(attributes) | set(now))
            if attributes.get(key) != now.get(key)
        ]
    return changes


def probe(state_dir: str) -> None:
    """Run in the fresh interpreter: print what the install changed and what moto hands out."""
    for module in _moto_imports():
        importlib.import_module(module)
    before = _moto_objects()
    from moto.cloudformation import parsing

    from sagemaker_stack.local import moto_registry

    moto_registry.install("http://127.0.0.1:1", Path(state_dir))
    changed = _changes(before, _moto_objects())
    backends = {
        f"{module}:{attribute}": isinstance(
            getattr(importlib.import_module(module), attribute)[ACCOUNT][REGION], subclass
        )
        for module, attribute, subclass in moto_registry.BACKENDS
    }
    types = {
        kind.cloudformation_type(): parsing.get_model_map()[kind.cloudformation_type()] is kind
        for kind in moto_registry.RESOURCE_TYPES
    }
    print(json.dumps({"changed": changed, "backends": backends, "types": types}))


def _run_probe(tmp_path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_the_install_assigns_nothing_onto_moto_and_moto_hands_out_the_subclasses(tmp_path: Path) -> None:
    report = _run_probe(tmp_path)
    assert report["changed"] == [], "patched onto moto at install: " + ", ".join(report["changed"])
    assert report["backends"] and all(report["backends"].values()), report["backends"]
    assert report["types"] and all(report["types"].values()), report["types"]
    assert "moto.codebuild.models:codebuild_backends" in report["backends"]


if __name__ == "__main__":
    probe(sys.argv[1])
