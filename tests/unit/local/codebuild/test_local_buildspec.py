"""The buildspec reader: what it runs, and what it refuses before any command runs."""

from __future__ import annotations

import pytest

from sagemaker_stack.local.codebuild.buildspec import BuildspecError, Phase, looks_inline, parse_buildspec


def test_a_buildspec_gives_its_phases_in_order_and_its_environment() -> None:
    spec = parse_buildspec(
        """
version: 0.2
env:
  shell: bash
  variables:
    COUNT: 3
    ENABLED: yes
    EMPTY:
  secrets-manager:
    TOKEN: arn:aws:secretsmanager:us-east-1:123456789012:secret:build-AbCdEf:token
  exported-variables: [IMAGE_URI]
phases:
  build:
    on-failure: CONTINUE
    commands:
      - docker build -t x .
    finally:
      - echo done
  pre_build:
    commands:
      - 'echo "a: b"'
artifacts:
  files: ['**/*']
"""
    )

    assert list(spec.phases) == ["PRE_BUILD", "BUILD"]
    assert spec.phases["BUILD"] == Phase("BUILD", ("docker build -t x .",), ("echo done",), "CONTINUE")
    assert spec.phases["PRE_BUILD"].commands == ('echo "a: b"',)
    # As CodeBuild's YAML reader gives them: numbers and booleans as their text, nothing as empty.
    assert spec.variables == {"COUNT": "3", "ENABLED": "true", "EMPTY": ""}
    assert spec.secrets_manager["TOKEN"].endswith("secret:build-AbCdEf:token")
    assert spec.exported_variables == ("IMAGE_URI",)
    assert spec.summary() == ["Phases found in YAML: 2", " PRE_BUILD: 1 commands", " BUILD: 1 commands"]


def test_zenmls_image_builder_buildspec_is_accepted() -> None:
    """The shape ZenML's `aws` image builder sends, with its empty pre_build when it needs no login."""
    spec = parse_buildspec(
        """
version: 0.2
phases:
    pre_build:
        commands:

    build:
        commands:
            - echo Build started on `date`
            - docker build -t repo:tag .
    post_build:
        commands:
            - docker push repo:tag
artifacts:
    files:
        - '**/*'
"""
    )

    assert spec.phases["PRE_BUILD"].commands == ()
    assert spec.phases["BUILD"].commands[1] == "docker build -t repo:tag ."


#: A phase that is fine, for the cases where something else is wrong.
LS = "phases:\n  build:\n    commands: [ls]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 0.2\nphases: [build", "yaml: line 2: "),
        ("- just\n- a list", "not a YAML mapping"),
        (LS, "missing 'version'"),
        (f"version: 0.1\n{LS}", "version 0.1 is not supported"),
        ("version: 0.2", "has no phases"),
        ("version: 0.2\nphase:\n  build:\n    commands: [ls]", "unknown key 'phase' in the buildspec"),
        ("version: 0.2\nphases:\n  test:\n    commands: [ls]", "unknown key 'test' in phases"),
        (f"version: 0.2\nrun-as: builder\n{LS}", "the buildspec/run-as is not"),
        ("version: 0.2\nphases:\n  install:\n    runtime-versions: {python: 3}", "runtime-versions is not"),
        (f"version: 0.2\nreports:\n  r: {{files: [x]}}\n{LS}", "reports is not"),
        ("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands: [ls]", "on-failure 'RETRY'"),
        ("version: 0.2\nphases:\n  build:\n    commands: ls", "Expected phases/build/commands to be of"),
        (
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo: hi",
            "Expected phases/build/commands[0] to be of string type: found subkeys instead",
        ),
        (f"version: 0.2\nenv:\n  shell: zsh\n{LS}", "env/shell 'zsh'"),
        (f"version: 0.2\nenv:\n  variables: {{A: [1]}}\n{LS}", "env/variables/A"),
    ],
    ids=[
        "not-yaml",
        "not-a-mapping",
        "no-version",
        "version-0.1",
        "no-phases",
        "unknown-top-level-key",
        "unknown-phase",
        "run-as",
        "runtime-versions",
        "reports",
        "retry",
        "commands-not-a-list",
        "command-with-a-colon",
        "unknown-shell",
        "variable-not-a-value",
    ],
)
def test_what_the_emulator_cannot_run_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(BuildspecError) as raised:
        parse_buildspec(text)

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("value", "inline"),
    [
        ("", False),
        ("buildspec.yml", False),
        ("config/build spec.yaml", False),
        ("arn:aws:s3:::bucket/buildspec.yml", False),
        ("version: 0.2\nphases: {}", True),
        ('{"version": "0.2", "phases": {}}', True),
        ("version: 0.2\nphases: [", True),  # inline, and then not YAML: a YAML_FILE_ERROR, not a path
    ],
)
def test_a_buildspec_setting_is_the_yaml_or_a_file_name(value: str, inline: bool) -> None:
    assert looks_inline(value) is inline
