"""A step of a pipeline on ZenML's local orchestrator runs on our step operator: a SageMaker job.

The job runs in the emulator (a standalone processing job, as on AWS), reads the ZenML
credentials from the stack's secret, and its output comes back to the client through S3. Its
request, as anyone allowed to DescribeProcessingJob sees it, holds neither the service account's
API key nor the ZenML server's address.
"""

from __future__ import annotations

import json
from pathlib import Path

from sagemaker_stack.step.entrypoint import ENV_SECRET_ARN
from sagemaker_stack.step_operator.step_operator import METADATA_JOB_NAME
from tests.support.e2e_stack import E2EStack

SCRIPT = Path(__file__).with_name("e2e_step_operator_pipelines.py")


def test_a_local_pipelines_step_runs_as_a_sagemaker_job_and_its_output_comes_back(
    e2e_stack: E2EStack,
) -> None:
    e2e_stack.zenml("setup", script=SCRIPT)

    result = e2e_stack.zenml("run", script=SCRIPT)

    assert result["error"] is None, result["_output"][-5000:]
    assert result["status"] == "completed"
    assert result["steps"] == {"numbers": "completed", "remote_sum": "completed"}
    assert result["output"] == {"sum_of_squares": 30, "in_step_operator": "True", "credential_variables": []}
    job_name = result["metadata"][METADATA_JOB_NAME]
    sagemaker = e2e_stack.client("sagemaker")
    listed = [job["ProcessingJobName"] for job in sagemaker.list_processing_jobs()["ProcessingJobSummaries"]]
    assert job_name in listed
    described = sagemaker.describe_processing_job(ProcessingJobName=job_name)
    assert described["ProcessingJobStatus"] == "Completed"
    assert described["Environment"][ENV_SECRET_ARN] == e2e_stack.secret_arn
    text = json.dumps(described, default=str)
    assert e2e_stack.server.api_key not in text
    assert "ZENML_STORE_API_TOKEN" not in text and "ZENML_STORE_URL" not in text
