"""Six runs of one ZenML pipeline started at once, as a user would from six terminals.

Each run sets its own `environment` value; they all update the one SageMaker pipeline of that
ZenML pipeline. Each must complete on the registered stack, and its step must see its own value:
the run's execution is pinned to the pipeline version that run wrote.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.e2e_stack import E2EStack

RUNS = 6


def test_six_concurrent_runs_each_execute_their_own_settings(e2e_stack: E2EStack) -> None:
    # One run first uploads the code archive: ZenML's upload_code_if_necessary checks that the
    # archive is absent, then copies with overwrite=False, so concurrent first uploads of one
    # archive fail all but one with FileExistsError (ZenML's race, on AWS too, not ours).
    warm_up = e2e_stack.zenml("run-with-value", "first")
    assert warm_up["status"] == "completed" and warm_up["value"] == "first", warm_up["_output"][-4000:]
    values = [f"run{index}" for index in range(RUNS)]
    # Pinned as `sagemaker-stack local env` pins it: every ZenML client rewrites its config.yaml in
    # place as it starts (GlobalConfiguration._sanitize_config, no atomic rename), so a client
    # reading it mid-write finds no active stack and falls back to (and saves) the default one;
    # ZENML_ACTIVE_STACK_ID is read before that file.
    pinned = {"ZENML_ACTIVE_STACK_ID": e2e_stack.stack_id}
    with ThreadPoolExecutor(RUNS) as pool:  # each run is its own client process
        results = list(
            pool.map(lambda value: e2e_stack.zenml("run-with-value", value, timeout=900, env=pinned), values)
        )

    for value, result in zip(values, results, strict=True):
        assert result["error"] is None, result["_output"][-4000:]
        assert result["status"] == "completed", result["_output"][-4000:]
        assert result["stack"] == "e2e-stack", result["_output"][-4000:]
        assert result["value"] == value
    sagemaker = e2e_stack.client("sagemaker")
    executions = [result["metadata"]["orchestrator_run_id"] for result in results]
    pipelines = {arn.split("/")[1] for arn in executions}
    assert len(pipelines) == 1  # one SageMaker pipeline, updated by every run
    versions = [
        sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineVersionId"]
        for arn in executions
    ]
    assert len(set(versions)) == RUNS
