"""Print what the demo's pipeline run did, read back from ZenML and the stack's bucket.

`python -m sagemaker_stack.ops.demo_report CONFIG [PIPELINE]`: the last run's status, each step's
status and duration, the model metric and where the artifacts are. Exits non-zero unless the
run completed, so the demo (and its test) fail loudly on a failed run.
"""

from __future__ import annotations

import sys
from typing import Any

from sagemaker_stack.config import StackConfig


def _seconds(step: Any) -> str:
    if step.start_time is None or step.end_time is None:
        return "-"
    return f"{(step.end_time - step.start_time).total_seconds():.1f} s"


def report(config: StackConfig, pipeline_name: str) -> bool:
    """Print the report; True when the run completed."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus

    run = Client().get_pipeline(pipeline_name).last_run
    print(f"run {run.name}: {run.status.value}")
    execution = run.run_metadata.get("sagemaker_execution_arn") or run.run_metadata.get("execution_arn")
    if execution:
        print(f"SageMaker execution: {execution}")
    steps = sorted(run.steps.values(), key=lambda s: (s.start_time is None, s.start_time))
    width = max((len(s.name) for s in steps), default=4)
    for step in steps:
        print(f"  {step.name:<{width}}  {step.status.value:<10} {_seconds(step):>8}")
    evaluate = run.steps.get("evaluate")
    if evaluate is not None and evaluate.status == ExecutionStatus.COMPLETED:
        scores: dict[str, float] = evaluate.outputs["accuracy"][0].load()
        best = max(scores, key=scores.__getitem__)
        for model, score in sorted(scores.items()):
            print(f"accuracy of {model}: {score:.3f}{'  <- best' if model == best else ''}")
    uris = sorted(
        {artifact.uri for step in steps for versions in step.outputs.values() for artifact in versions}
    )
    prefix = _common_prefix(uris)
    print(f"artifacts: {len(uris)} in {prefix or config.artifact_path} (bucket {config.bucket_name})")
    return run.status == ExecutionStatus.COMPLETED


def _common_prefix(uris: list[str]) -> str:
    if not uris:
        return ""
    first, last = uris[0], uris[-1]
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size].rsplit("/", 1)[0] + "/"


def main(argv: list[str]) -> int:
    config = StackConfig.load(argv[0])
    pipeline = argv[1] if len(argv) > 1 else "iris_pipeline"
    return 0 if report(config, pipeline) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
