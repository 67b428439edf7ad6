"""A failed CodeBuild build is reported with its failing command and last output lines."""

from __future__ import annotations

from typing import Any

from sagemaker_stack.image_builder.build_log import failing_command, failure_summary, wait

LOG = [
    "[Container] 2026/12/01 10:00:00.000000 Running command echo Logging in",
    "Logging in",
    "[Container] 2026/12/01 10:00:01.000000 Running command docker build -t repo:tag .",
    "Step 1/4 : FROM base",
    "Step 3/4 : RUN uv pip install --system -r .zenml_user_requirements",
    "  \u00d7 No solution found when resolving dependencies:",
    "  ╰─▶ Because there is no version of no-such-package-xyz and you require no-such-package-xyz,",
    "      we can conclude that your requirements are unsatisfiable.",
    "[Container] 2026/12/01 10:00:09.000000 Command did not exit successfully docker build -t repo:tag . "
    "exit status 1",
    "[Container] 2026/12/01 10:00:09.000000 Phase complete: BUILD State: FAILED",
]

FAILED_BUILD: dict[str, Any] = {
    "id": "images:1234",
    "buildStatus": "FAILED",
    "phases": [
        {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED"},
        {"phaseType": "PRE_BUILD", "phaseStatus": "SUCCEEDED"},
        {
            "phaseType": "BUILD",
            "phaseStatus": "FAILED",
            "contexts": [
                {
                    "statusCode": "COMMAND_EXECUTION_ERROR",
                    "message": "Error while executing command: docker build -t repo:tag .. "
                    "Reason: exit status 1",
                }
            ],
        },
        {"phaseType": "POST_BUILD", "phaseStatus": "SUCCEEDED"},
    ],
    "logs": {"groupName": "/aws/codebuild/images", "streamName": "1234"},
}


def test_the_failing_command_and_its_last_lines_are_found() -> None:
    command, output = failing_command(LOG)
    assert command == "docker build -t repo:tag ."
    assert output[0] == "Step 1/4 : FROM base"
    assert "no-such-package-xyz" in output[-2]
    assert not any(line.startswith("[Container]") for line in output)


def test_the_summary_names_phase_context_command_and_log() -> None:
    summary = failure_summary(FAILED_BUILD, LOG)
    assert "ended FAILED in phase BUILD" in summary
    assert "COMMAND_EXECUTION_ERROR: Error while executing command" in summary
    assert "failing command: docker build -t repo:tag ." in summary
    assert "no-such-package-xyz" in summary
    assert "/aws/codebuild/images" in summary and "1234" in summary


def test_wait_reports_each_phase_once_and_returns_the_finished_build() -> None:
    answers = iter(
        [
            {"buildStatus": "IN_PROGRESS", "currentPhase": "PROVISIONING"},
            {"buildStatus": "IN_PROGRESS", "currentPhase": "BUILD"},
            {"buildStatus": "IN_PROGRESS", "currentPhase": "BUILD"},
            {"buildStatus": "SUCCEEDED", "currentPhase": "COMPLETED"},
        ]
    )

    class CodeBuild:
        def batch_get_builds(self, ids: list[str]) -> dict[str, Any]:
            assert ids == ["images:1"]
            return {"builds": [next(answers)]}

    phases: list[str] = []
    build = wait(CodeBuild(), "images:1", interval=0, on_phase=phases.append, sleep=lambda _: None)
    assert build["buildStatus"] == "SUCCEEDED"
    assert phases == ["PROVISIONING", "BUILD", "COMPLETED"]
