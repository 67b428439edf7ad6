"""`register` / `unregister` against a real ZenML server and the emulator.

What a user relies on: running register again changes nothing; a changed stack updates the same
components; unregister removes exactly what register made; a name already taken by the user stops
register before anything is created; the steps' credentials are in the stack's secret and work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from click.testing import CliRunner

from sagemaker_stack.cli.registration import register as register_command
from sagemaker_stack.cli.registration import unregister as unregister_command
from sagemaker_stack.config import OutputName, StackConfig
from sagemaker_stack.flavor import FLAVOR_SOURCE, STEP_OPERATOR_FLAVOR_SOURCE
from sagemaker_stack.ops.outputs import config_from_cloudformation
from sagemaker_stack.ops.registration.plan import MANAGED_LABEL, STACK_LABEL, RegistrationError, plan_stack
from sagemaker_stack.ops.registration.store import register, unregister
from tests.support.botocore_attempts import record_attempts
from tests.support.registration import PLACEHOLDER, REGION, reset_zenml_singletons


def secret_value(config: StackConfig) -> str:
    client = boto3.client("secretsmanager", endpoint_url=config.endpoint_url, region_name=REGION)
    return str(client.get_secret_value(SecretId=config.secret_arn)["SecretString"])


def login_works(server_url: str, api_key: str) -> bool:
    """Whether the ZenML server accepts `api_key` (what the step entrypoint will do with it)."""
    data = urllib.parse.urlencode({"password": api_key}).encode()
    request = urllib.request.Request(f"{server_url}/api/v1/login", data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return "access_token" in json.loads(response.read())
    except urllib.error.HTTPError:
        return False


def components_of(client: Any, stack_name: str) -> dict[str, Any]:
    stack = client.get_stack(stack_name, allow_name_prefix_match=False)
    return {kind.value: found[0] for kind, found in stack.components.items()}


def test_register_twice_changes_nothing(deployed: StackConfig, zenml_client: Any, zenml_server: Any) -> None:
    first = register(deployed, client=zenml_client)
    assert any(line.startswith("created stack") for line in first.changes)

    stack = zenml_client.get_stack(deployed.stack_name, allow_name_prefix_match=False)
    assert stack.labels == {MANAGED_LABEL: "true", STACK_LABEL: deployed.stack_name}
    components = components_of(zenml_client, deployed.stack_name)
    assert {kind: c.flavor_name for kind, c in components.items()} == {
        "artifact_store": "s3",
        "container_registry": "aws",
        "orchestrator": "sagemaker_pipelines",
        "step_operator": "sagemaker_stack_jobs",
    }
    store = components["artifact_store"].configuration
    assert store["path"] == deployed.artifact_path
    # Against the emulator the artifact store carries its endpoint, and no keys: the credential chain.
    assert store["client_kwargs"] == {"endpoint_url": deployed.endpoint_url, "region_name": REGION}
    assert "key" not in store and "secret" not in store
    assert components["container_registry"].configuration["uri"] == deployed.registry_uri
    assert components["container_registry"].configuration["default_repository"] == deployed.repository_name
    orchestrator = components["orchestrator"].configuration
    assert orchestrator["execution_role_arn"] == deployed.execution_role_arn
    assert orchestrator["secret_arn"] == deployed.secret_arn
    for component in components.values():
        assert component.labels[STACK_LABEL] == deployed.stack_name

    stored = json.loads(secret_value(deployed))
    assert stored["server_url"] == zenml_server.url
    assert login_works(zenml_server.url, stored["api_key"])
    for component in components.values():  # the key is in the secret only
        assert stored["api_key"] not in json.dumps(component.configuration)

    updated_before = {kind: c.updated for kind, c in components.items()}
    second = register(deployed, client=zenml_client)
    assert second.changes == []
    after = components_of(zenml_client, deployed.stack_name)
    assert {kind: c.updated for kind, c in after.items()} == updated_before
    assert json.loads(secret_value(deployed)) == stored


def test_changed_stack_updates_components_in_place(
    deployed: StackConfig, zenml_client: Any, aws_endpoint: str
) -> None:
    register(deployed, client=zenml_client)
    ids_before = {kind: c.id for kind, c in components_of(zenml_client, deployed.stack_name).items()}

    # The user redeploys with another repository name and role: the stack's outputs change.
    cloudformation = boto3.client("cloudformation", endpoint_url=aws_endpoint, region_name=REGION)
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=deployed.stack_name)["Stacks"][0]["Outputs"]
    }
    outputs[OutputName.REPOSITORY_NAME] = "renamed-images"
    outputs[OutputName.EXECUTION_ROLE_ARN] = outputs[OutputName.EXECUTION_ROLE_ARN] + "-v2"
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.update_stack(StackName=deployed.stack_name, TemplateBody=json.dumps(template))
    changed = config_from_cloudformation(deployed.stack_name, region=REGION, endpoint_url=aws_endpoint)
    assert changed.repository_name == "renamed-images"

    # A stale config file is refused rather than registered.
    with pytest.raises(RegistrationError, match="run `sagemaker-stack export` again"):
        register(deployed, client=zenml_client)

    result = register(changed, client=zenml_client)
    assert sorted(result.changes) == sorted(
        [
            f"updated container registry '{deployed.stack_name}-registry'",
            f"updated orchestrator '{deployed.stack_name}-orchestrator'",
            f"updated step operator '{deployed.stack_name}-step-operator'",
        ]
    )
    after = components_of(zenml_client, deployed.stack_name)
    assert {kind: c.id for kind, c in after.items()} == ids_before
    assert after["container_registry"].configuration["default_repository"] == "renamed-images"
    assert after["orchestrator"].configuration["execution_role_arn"].endswith("-v2")
    assert after["step_operator"].configuration["execution_role_arn"].endswith("-v2")
    assert len(zenml_client.list_stack_components(name=f"{deployed.stack_name}-registry").items) == 1


def test_unregister_removes_only_what_register_made(
    deployed: StackConfig, zenml_client: Any, zenml_server: Any, tmp_path: Path
) -> None:
    from zenml.enums import StackComponentType

    register(deployed, client=zenml_client)
    api_key = json.loads(secret_value(deployed))["api_key"]
    name = deployed.stack_name
    # The user's own things, one of them even named in our pattern and placed beside ours.
    mine = zenml_client.create_stack_component(
        name=f"{name}-mine",
        flavor="local",
        component_type=StackComponentType.ARTIFACT_STORE,
        configuration={"path": str(tmp_path / "mine")},
    )
    orchestrator = zenml_client.get_stack_component(StackComponentType.ORCHESTRATOR, "default")
    zenml_client.create_stack(
        name=f"{name}-users",
        components={
            StackComponentType.ARTIFACT_STORE: mine.id,
            StackComponentType.ORCHESTRATOR: orchestrator.id,
        },
    )

    result = unregister(name, config=deployed, client=zenml_client)

    assert f"stack {name!r}" in result.removed
    assert zenml_client.list_stacks(name=name).total == 0
    for suffix in ("artifacts", "registry", "orchestrator", "step-operator"):
        assert zenml_client.list_stack_components(name=f"{name}-{suffix}").total == 0
    assert zenml_client.list_service_accounts(name=f"{name}-steps").total == 0
    assert not login_works(zenml_server.url, api_key)
    assert json.loads(secret_value(deployed)) == {}
    # Untouched: the user's stack and component.
    assert zenml_client.list_stacks(name=f"{name}-users").total == 1
    assert zenml_client.list_stack_components(name=f"{name}-mine").total == 1

    # A second unregister finds nothing of ours and removes nothing.
    assert unregister(name, config=deployed, client=zenml_client).removed == []


def _own_something_as(server_url: str, api_key: str) -> None:
    """Create a tag as the account of `api_key`, as a step's run would: ZenML then keeps the account."""
    data = urllib.parse.urlencode({"password": api_key}).encode()
    with urllib.request.urlopen(
        urllib.request.Request(f"{server_url}/api/v1/login", data=data, method="POST"), timeout=30
    ) as response:
        token = json.loads(response.read())["access_token"]
    request = urllib.request.Request(
        f"{server_url}/api/v1/tags",
        data=json.dumps({"name": f"owned-{api_key[-6:]}"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


def test_register_after_unregister_gives_the_steps_working_credentials(
    deployed: StackConfig, zenml_client: Any, zenml_server: Any
) -> None:
    """An account that owns something is deactivated, not deleted, by unregister; register reactivates it."""
    register(deployed, client=zenml_client)
    _own_something_as(zenml_server.url, json.loads(secret_value(deployed))["api_key"])
    removed = unregister(deployed.stack_name, config=deployed, client=zenml_client).removed
    assert any("deactivated" in line for line in removed)

    again = register(deployed, client=zenml_client)

    # What a step does first: log in with the key in the secret (an inactive account's is refused).
    assert login_works(zenml_server.url, json.loads(secret_value(deployed))["api_key"])
    (account,) = zenml_client.list_service_accounts(name=f"{deployed.stack_name}-steps").items
    assert account.active
    assert f"reactivated service account '{deployed.stack_name}-steps'" in again.changes


def test_unregister_with_the_emulator_gone_still_cleans_zenml_and_says_what_it_kept(
    deployed: StackConfig, zenml_client: Any, zenml_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    register(deployed, client=zenml_client)
    api_key = json.loads(secret_value(deployed))["api_key"]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        gone = deployed.model_copy(update={"endpoint_url": f"http://127.0.0.1:{sock.getsockname()[1]}"})
    attempts = record_attempts(monkeypatch)
    result = unregister(deployed.stack_name, config=gone, client=zenml_client)
    # No request to the endpoint that is gone, so none of botocore's retries (16 s and more).
    assert [url for url in attempts if url.startswith(str(gone.endpoint_url))] == []
    assert zenml_client.list_stacks(name=deployed.stack_name).total == 0
    assert not login_works(zenml_server.url, api_key)  # revoked in ZenML either way
    assert any(f"nothing answers at {gone.endpoint_url}" in line for line in result.kept)


def test_name_taken_by_a_users_stack_creates_nothing(deployed: StackConfig, zenml_client: Any) -> None:
    from zenml.enums import StackComponentType

    taken = f"{deployed.stack_name}-taken"
    defaults = {
        StackComponentType.ARTIFACT_STORE: "default",
        StackComponentType.ORCHESTRATOR: "default",
    }
    zenml_client.create_stack(name=taken, components=defaults)

    with pytest.raises(RegistrationError, match=rf"already has stack '{taken}'.*nothing was changed"):
        register(deployed, name=taken, client=zenml_client)

    for suffix in ("artifacts", "registry", "orchestrator", "step-operator"):
        assert zenml_client.list_stack_components(name=f"{taken}-{suffix}").total == 0
    assert zenml_client.list_service_accounts(name=f"{taken}-steps").total == 0
    assert secret_value(deployed) == PLACEHOLDER
    stack = zenml_client.get_stack(taken, allow_name_prefix_match=False)
    assert not stack.labels

    # unregister will not touch the user's stack either.
    with pytest.raises(RegistrationError, match="not made by sagemaker-stack"):
        unregister(taken, client=zenml_client)
    assert zenml_client.list_stacks(name=taken).total == 1


def test_component_name_taken_creates_nothing(
    deployed: StackConfig, zenml_client: Any, tmp_path: Path
) -> None:
    from zenml.enums import StackComponentType

    zenml_client.create_stack_component(
        name=f"{deployed.stack_name}-orchestrator",
        flavor="local",
        component_type=StackComponentType.ORCHESTRATOR,
        configuration={},
    )
    with pytest.raises(RegistrationError, match=rf"orchestrator '{deployed.stack_name}-orchestrator'"):
        register(deployed, client=zenml_client)
    assert zenml_client.list_stack_components(name=f"{deployed.stack_name}-artifacts").total == 0
    assert zenml_client.list_stacks(name=deployed.stack_name).total == 0


def test_stack_that_is_gone_is_refused(deployed: StackConfig, zenml_client: Any, aws_endpoint: str) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=aws_endpoint, region_name=REGION)
    secrets.delete_secret(SecretId=deployed.secret_arn, ForceDeleteWithoutRecovery=True)
    with pytest.raises(RegistrationError, match=r"secret .* cannot be read .*was the stack destroyed"):
        register(deployed, client=zenml_client)

    boto3.client("cloudformation", endpoint_url=aws_endpoint, region_name=REGION).delete_stack(
        StackName=deployed.stack_name
    )
    with pytest.raises(RegistrationError, match=r"is not deployed in region us-east-1.*cdk deploy"):
        register(deployed, client=zenml_client)
    assert zenml_client.list_stacks(name=deployed.stack_name).total == 0
    assert zenml_client.list_stack_components(name=f"{deployed.stack_name}-artifacts").total == 0


def test_failure_half_way_undoes_what_was_created(
    deployed: StackConfig, zenml_client: Any, aws_endpoint: str
) -> None:
    # The secret vanishes after the checks: writing the steps' credentials, the last step, fails.
    boto3.client("secretsmanager", endpoint_url=aws_endpoint, region_name=REGION).delete_secret(
        SecretId=deployed.secret_arn, ForceDeleteWithoutRecovery=True
    )
    with pytest.raises(RegistrationError, match=r"cannot write the stack's secret.*Nothing was left half"):
        register(deployed, client=zenml_client, check_aws=False)
    name = deployed.stack_name
    assert zenml_client.list_stacks(name=name).total == 0
    for suffix in ("artifacts", "registry", "orchestrator", "step-operator"):
        assert zenml_client.list_stack_components(name=f"{name}-{suffix}").total == 0
    assert zenml_client.list_service_accounts(name=f"{name}-steps").total == 0


def test_given_api_key_is_stored_instead_of_making_an_account(
    deployed: StackConfig, zenml_client: Any, zenml_server: Any
) -> None:
    result = register(deployed, client=zenml_client, steps_api_key=zenml_server.api_key)
    assert zenml_client.list_service_accounts(name=f"{deployed.stack_name}-steps").total == 0
    assert json.loads(secret_value(deployed)) == {
        "server_url": zenml_server.url,
        "api_key": zenml_server.api_key,
    }
    assert result.changes
    assert register(deployed, client=zenml_client, steps_api_key=zenml_server.api_key).changes == []
    unregister(deployed.stack_name, config=deployed, client=zenml_client)
    assert json.loads(secret_value(deployed)) == {}
    assert login_works(zenml_server.url, zenml_server.api_key)  # the user's key: not revoked


# --- through the command line ------------------------------------------------------------------------


def test_cli_register_set_yaml_and_import_into_a_fresh_store(
    deployed: StackConfig, zenml_env: dict[str, str], zenml_client: Any, tmp_path: Path
) -> None:
    config_file = deployed.save(tmp_path / "sagemaker-stack.json")
    yaml_file = tmp_path / "stack.yaml"
    runner = CliRunner()

    result = runner.invoke(
        register_command, ["--config", str(config_file), "--set", "--yaml", str(yaml_file)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"ZenML stack '{deployed.stack_name}' registered (active)"
    assert "Traceback" not in result.output
    reset_zenml_singletons()
    from zenml.client import Client

    assert Client().active_stack_model.name == deployed.stack_name
    registered = Client().get_stack(deployed.stack_name, allow_name_prefix_match=False).to_yaml()

    again = runner.invoke(register_command, ["--config", str(config_file), "--set"])
    assert again.exit_code == 0, again.output
    assert "already registered, nothing changed (active)" in again.output

    # The file imports with ZenML's own CLI into a brand-new local store and gives the same stack.
    fresh = {k: v for k, v in os.environ.items() if not k.startswith("ZENML_STORE")}
    fresh.update(
        ZENML_CONFIG_PATH=str(tmp_path / "fresh"),
        ZENML_ANALYTICS_OPT_IN="false",
    )
    # ZenML's own CLI group, three commands in one process (each process start costs seconds).
    commands = [
        ["orchestrator", "flavor", "register", FLAVOR_SOURCE],
        ["step-operator", "flavor", "register", STEP_OPERATOR_FLAVOR_SOURCE],
        ["stack", "import", deployed.stack_name, "-f", str(yaml_file)],
        ["stack", "export", deployed.stack_name, str(tmp_path / "exported.yaml")],
    ]
    script = (
        "import json, sys\n"
        "from zenml.cli.cli import cli\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    cli.main(args, standalone_mode=False)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(commands)],
        env=fresh,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    imported = yaml.safe_load((tmp_path / "exported.yaml").read_text())
    assert imported["components"] == registered["components"]
    assert yaml.safe_load(yaml_file.read_text())["components"] == registered["components"]

    # unregister through the CLI, while the stack is active: ZenML's default stack takes over.
    removed = runner.invoke(unregister_command, ["--config", str(config_file)])
    assert removed.exit_code == 0, removed.output
    assert "switched the active ZenML stack" in removed.output
    assert removed.output.splitlines()[-1] == f"ZenML stack '{deployed.stack_name}' unregistered"


def test_cli_errors_are_one_line(
    deployed: StackConfig, zenml_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    missing = runner.invoke(register_command, ["--config", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: no stack config at")
    assert missing.output.count("\n") == 1

    from sagemaker_stack.ops.loopback_ports import listen

    with listen(0) as taken:  # a port nothing listens on once it is closed
        port = taken.getsockname()[1]
    monkeypatch.setenv("ZENML_STORE_URL", f"http://127.0.0.1:{port}")
    reset_zenml_singletons()
    try:
        config_file = deployed.save(tmp_path / "c.json")
        unreachable = runner.invoke(register_command, ["--config", str(config_file)])
    finally:
        reset_zenml_singletons()
    assert unreachable.exit_code == 1
    assert "is not reachable" in unreachable.output
    assert unreachable.output.count("\n") == 1
    assert "Traceback" not in unreachable.output


def test_plan_names_everything_after_the_stack(deployed: StackConfig) -> None:
    plan = plan_stack(deployed, "demo")
    assert [c.name for c in plan.components] == [
        "demo-artifacts",
        "demo-registry",
        "demo-orchestrator",
        "demo-step-operator",
    ]
    assert plan.service_account == "demo-steps"
