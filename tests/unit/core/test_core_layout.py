"""The layout by where code runs is a contract the project checks, not a convention.

`lint-imports` (import-linter, contracts in pyproject.toml) runs in `make test`; these tests show
that it really catches a forbidden import, and keep the size limits the layout was made for.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "orchestrator" / "src" / "sagemaker_stack"
CONSTRUCTS = REPO / "stacks" / "src" / "sagemaker_stack_cdk"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": f"{root / 'src'}:{root}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_project(tmp_path: Path) -> Path:
    shutil.copytree(
        PACKAGE, tmp_path / "src" / "sagemaker_stack", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        CONSTRUCTS, tmp_path / "src" / "sagemaker_stack_cdk", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_for_the_code_as_it_is(tmp_path: Path) -> None:
    result = _lint(_copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_step_importing_the_laptop_side_breaks_a_contract(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    entrypoint = root / "src" / "sagemaker_stack" / "step" / "entrypoint.py"
    entrypoint.write_text(entrypoint.read_text() + "\nimport sagemaker_stack.ops.lifecycle  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "sagemaker_stack.step.entrypoint -> sagemaker_stack.ops.lifecycle" in result.stdout


def test_the_emulator_importing_the_orchestrator_breaks_a_contract(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    engine = root / "src" / "sagemaker_stack" / "local" / "sagemaker" / "engine.py"
    engine.write_text(engine.read_text() + "\nimport sagemaker_stack.orchestrator.definition  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "The emulator emulates AWS" in result.stdout and "BROKEN" in result.stdout


def test_a_lower_emulator_package_importing_a_higher_one_breaks_a_contract(tmp_path: Path) -> None:
    # The cycle this layout cut: the snapshot (state/) read a folder name from the server (process/).
    root = _copy_project(tmp_path)
    snapshot = root / "src" / "sagemaker_stack" / "local" / "state" / "snapshot.py"
    snapshot.write_text(snapshot.read_text() + "\nimport sagemaker_stack.local.process.server  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "The emulator's packages are layered" in result.stdout and "BROKEN" in result.stdout
    assert "sagemaker_stack.local.state.snapshot -> sagemaker_stack.local.process.server" in " ".join(
        result.stdout.split()
    )


def test_the_two_emulated_services_stay_independent(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    builds = root / "src" / "sagemaker_stack" / "local" / "codebuild" / "models.py"
    builds.write_text(builds.read_text() + "\nimport sagemaker_stack.local.sagemaker.moto_fixes  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "sagemaker_stack.local.codebuild.models -> sagemaker_stack.local.sagemaker.moto_fixes" in " ".join(
        result.stdout.split()
    )


def test_the_emulator_is_laid_out_in_packages() -> None:
    local = PACKAGE / "local"
    modules = sorted(p.name for p in local.glob("*.py"))
    packages = sorted(p.name for p in local.iterdir() if (p / "__init__.py").exists())
    assert len(modules) <= 8, modules
    assert len(packages) >= 5, packages


def test_modules_stay_small_and_the_top_level_stays_short() -> None:
    sources = [*PACKAGE.rglob("*.py"), *CONSTRUCTS.rglob("*.py")]
    too_long = {str(p.relative_to(REPO)): n for p in sources if (n := len(p.read_text().splitlines())) > 500}
    assert not too_long, f"modules over 500 lines: {too_long}"
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top_level) <= 8, top_level


#: Each cycles contract, shown to bite: (file under the copied tree, import appended, what the
#: report must name). The first is the definition<->job_request cycle that function-level imports
#: used to hide; the flavor case shows the one ignored import is the only one allowed.
CYCLE_VIOLATIONS = {
    "orchestrator_modules": (
        "src/sagemaker_stack/orchestrator/job_request.py",
        "import sagemaker_stack.orchestrator.definition",
        "No cycles are allowed in sagemaker_stack.orchestrator.",
    ),
    "runtime_packages": (
        "src/sagemaker_stack/schedules/plan.py",
        "import sagemaker_stack.orchestrator.spec",
        "No cycles are allowed in sagemaker_stack.",
    ),
    "flavor_beyond_its_implementation": (
        "src/sagemaker_stack/flavor.py",
        "import sagemaker_stack.orchestrator.snapshot_spec",
        "No cycles are allowed in sagemaker_stack.",
    ),
    "cdk_constructs": (
        "src/sagemaker_stack_cdk/network.py",
        "import sagemaker_stack_cdk.construct",
        "No cycles are allowed in sagemaker_stack_cdk.",
    ),
    "pure_spec_reaching_zenml": (
        "src/sagemaker_stack/orchestrator/spec.py",
        "import sagemaker_stack.flavor",
        "sagemaker_stack.orchestrator.spec -> sagemaker_stack.flavor",
    ),
}


@pytest.mark.parametrize("case", sorted(CYCLE_VIOLATIONS))
def test_each_cycles_contract_catches_a_violation(case: str, tmp_path: Path) -> None:
    relative, statement, reported = CYCLE_VIOLATIONS[case]
    root = _copy_project(tmp_path)
    module = root / relative
    module.write_text(module.read_text() + f"\n{statement}  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert reported in result.stdout, result.stdout
