"""A child meant for another AWS account or ZenML server starts without the caller's pointers to theirs."""

from __future__ import annotations

from sagemaker_stack.ops import demo
from sagemaker_stack.ops.processes import environment_without

CALLER = {
    "PATH": "/usr/bin",
    "HOME": "/home/user",
    "AWS_PROFILE": "production",
    "AWS_ENDPOINT_URL": "https://elsewhere.example",
    "ZENML_STORE_URL": "https://zenml.example",
    "SAGEMAKER_STACK_STATE_DIR": "/somewhere",
    "MY_AWS_THING": "kept: only a prefix counts",
}


def test_the_aws_and_zenml_variables_go_and_everything_else_stays() -> None:
    assert environment_without(CALLER) == {
        "PATH": "/usr/bin",
        "HOME": "/home/user",
        "SAGEMAKER_STACK_STATE_DIR": "/somewhere",
        "MY_AWS_THING": "kept: only a prefix counts",
    }
    assert "AWS_PROFILE" in CALLER  # a copy: the caller's mapping is untouched


def test_other_prefixes_drop_only_what_they_name() -> None:
    kept = environment_without(CALLER, ("ZENML_", "SAGEMAKER_STACK_"))
    assert set(kept) == {"PATH", "HOME", "AWS_PROFILE", "AWS_ENDPOINT_URL", "MY_AWS_THING"}


def test_the_demo_runs_with_none_of_the_callers_aws_or_zenml_settings() -> None:
    env = demo._quiet_environment(CALLER)
    assert not {"AWS_PROFILE", "AWS_ENDPOINT_URL", "ZENML_STORE_URL"} & set(env)
    assert env["PATH"] == "/usr/bin"
