"""A synchronous run's watch through a real 30-second outage of the SageMaker endpoint.

The client reaches SageMaker through a TCP proxy that goes dark for 30 s while the first step
runs: the watch says once that contact is lost and once that it is back, and follows the run to
its real end (completed), with no traceback. The steps keep reaching the emulator itself, as a
SageMaker job keeps running while its client's network is down.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.support.e2e_stack import E2EStack
from tests.support.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 30
FIRST_STEP_SECONDS = 40


def _executing(e2e_stack: E2EStack) -> bool:
    sagemaker = e2e_stack.client("sagemaker")
    for pipeline in sagemaker.list_pipelines()["PipelineSummaries"]:
        executions = sagemaker.list_pipeline_executions(PipelineName=pipeline["PipelineName"])
        if any(e["PipelineExecutionStatus"] == "Executing" for e in executions["PipelineExecutionSummaries"]):
            return True
    return False


def test_the_watch_rides_out_an_outage_and_follows_the_run_to_its_end(e2e_stack: E2EStack) -> None:
    port = int(e2e_stack.emulator.endpoint_url.rsplit(":", 1)[1])
    proxy = TcpProxy(port).start()
    outcome: dict[str, Any] = {}

    def client() -> None:
        outcome.update(e2e_stack.zenml("run-through", proxy.url, str(FIRST_STEP_SECONDS)))

    runner = threading.Thread(target=client)
    runner.start()
    deadline = time.monotonic() + 120
    while not _executing(e2e_stack):
        assert time.monotonic() < deadline and runner.is_alive(), outcome.get("_output", "")[-3000:]
        time.sleep(0.5)
    # The watch has polled through the proxy (a fixed 2 s sleep was a guess a busy machine can beat).
    proxy.wait_for_request(b"DescribePipelineExecution")
    proxy.pause()
    time.sleep(OUTAGE_SECONDS)
    proxy.resume()
    runner.join(timeout=300)
    proxy.stop()
    assert not runner.is_alive()
    output = outcome["_output"]
    assert outcome["status"] == "completed", output[-4000:]
    assert set(outcome["steps"].values()) == {"completed"}
    assert output.count("Lost contact with SageMaker") == 1, output[-4000:]
    assert output.count("Contact with SageMaker is back after") == 1, output[-4000:]
    assert "Traceback" not in output
