"""One emulator, one ZenML server and one registered stack for the whole test session.

Started once (~30 s: the server, the emulator, the step image, `setup`) for every orchestrator
e2e module rather than once per module. Each module runs pipelines of its own name, so what it
counts or reads back does not depend on which other modules ran before it; a module that changes
shared state (the secret, the orchestrator's endpoint) puts it back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.zenml_server import LocalZenMLServer
from tests.support.e2e_stack import (
    BUCKET,
    REGION,
    SCHEDULER_TRUST,
    TRUST,
    E2EStack,
    client_environment,
)
from tests.support.images import step_image


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    root = tmp_path_factory.mktemp("orchestrator-e2e")
    server = LocalZenMLServer(root=root / "zenml")
    # The ZenML server takes ~13 s to start: start it while the emulator comes up.
    failure: list[BaseException] = []

    def start_server() -> None:
        try:
            server.start()
        except BaseException as error:
            failure.append(error)

    starter = threading.Thread(target=start_server)
    starter.start()
    emulator = Emulator(state_dir=root / "emulator", region=REGION)
    try:
        emulator.start()
        starter.join()
        if failure:
            raise failure[0]
        emulator.client("s3").create_bucket(Bucket=BUCKET)
        role_arn = emulator.client("iam").create_role(
            RoleName="e2e-sagemaker-execution", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        scheduler_role_arn = emulator.client("iam").create_role(
            RoleName="e2e-scheduler", AssumeRolePolicyDocument=json.dumps(SCHEDULER_TRUST)
        )["Role"]["Arn"]
        secret_arn = emulator.client("secretsmanager").create_secret(
            Name="e2e-zenml-credentials", SecretString=server.secret_payload()
        )["ARN"]
        stack = E2EStack(
            emulator=emulator,
            server=server,
            env=client_environment(
                server, emulator, secret_arn, role_arn, scheduler_role_arn, step_image=step_image(emulator)
            ),
            secret_arn=secret_arn,
            scheduler_role_arn=scheduler_role_arn,
        )
        stack.stack_id = stack.zenml("setup")["stack_id"]
        yield stack
    finally:
        starter.join()
        emulator.stop()
        server.stop()
        assert not server.is_running(), "the ZenML server left a process behind"
