"""Dockerfile -> emulated build steps, container commands and image names, without any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
from zenml.config import DockerSettings
from zenml.utils.pipeline_docker_image_builder import PipelineDockerImageBuilder

from sagemaker_stack.local.images.container import CommandError, container_command
from sagemaker_stack.local.images.dockerfile import (
    ContainerPath,
    Copy,
    DockerfileError,
    Echo,
    FileCommand,
    ImageConfig,
    Install,
    MakeDir,
    Satisfied,
    parse,
    translate,
)
from sagemaker_stack.local.images.reference import parse_reference
from sagemaker_stack.local.images.shell_words import ShellSyntaxError, expand_words, split_commands
from sagemaker_stack.local.images.store import Environment, Image


def _translate(text: str, build_args: dict[str, str] | None = None, parent: ImageConfig | None = None):  # type: ignore[no-untyped-def]
    return translate(parse(text), build_args or {}, parent or ImageConfig())


def test_zenmls_generated_dockerfile_installs_its_requirements_with_uv() -> None:
    settings = DockerSettings(environment={"answer": "42"})
    text = PipelineDockerImageBuilder._generate_zenml_pipeline_dockerfile(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/base:1",
        settings,
        requirements_files=[(".zenml_user_requirements", "inflection\n", [])],
    )

    translation = _translate(text)
    actions = [action for step in translation.steps for action in step.actions]
    assert actions == [
        MakeDir("/app"),
        Satisfied("pip install uv"),
        Copy((".zenml_user_requirements",), "/app/", None, False),
        Install(("-r", ".zenml_user_requirements"), "/app"),  # --no-cache-dir only changes caching
        Copy((".",), "/app/", None, False),
        FileCommand(("chmod", "-R", "a+rw", "."), "/app"),
    ]
    assert translation.config.workdir == "/app"
    assert translation.config.env["ANSWER"] == "42"
    assert translation.config.env["ZENML_CONFIG_PATH"] == "/app/.zenconfig"


def test_variables_expand_as_docker_expands_them() -> None:
    text = (
        "ARG BASE=python:3.10\nFROM ${BASE}-slim\nARG WHO=world\n"
        "ENV A='$WHO stays' B=\"hi $WHO\" C=${MISSING:-fallback} D=${WHO:+set}\n"
        "ENV E=$A\nENV OLD value  with spaces\n"
    )
    dockerfile = parse(text)
    assert dockerfile.base({"BASE": "python:3.11"})[0] == "python:3.11-slim"

    env = _translate(text, {"WHO": "you"}).config.env
    assert env == {
        "A": "$WHO stays",
        "B": "hi you",
        "C": "fallback",
        "D": "set",
        "E": "$WHO stays",
        "OLD": "value  with spaces",
    }


def test_env_in_one_instruction_sees_the_values_from_before_it() -> None:
    env = _translate("FROM python:3.11\nENV X=old\nENV X=new Y=$X\n").config.env
    assert env == {"X": "new", "Y": "old"}


def test_run_chains_cd_container_paths_and_echo() -> None:
    step = _translate(
        "FROM python:3.11\nWORKDIR /srv\n"
        "RUN --mount=type=cache,target=/root/.cache python3 -m pip install --user-agent x -e /srv/pkg "
        '&& cd sub; mkdir -p /data out && echo "done $HOME"\n',
        parent=ImageConfig(env={"HOME": "/root"}),
    ).steps[-1]

    assert step.actions == (
        Install(("--user-agent", "x", "-e", ContainerPath("/srv/pkg")), "/srv"),
        FileCommand(("mkdir", "-p", ContainerPath("/data"), "out"), "/srv/sub"),
        Echo("done /root"),
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("RUN apt-get install -y git", "the emulator cannot run `apt-get`"),
        ("RUN pip install x | tee log", "the shell operator '|' is not supported"),
        ("RUN echo $(date)", "command substitution $(...) is not supported"),
        ("RUN pip install --user x", "--user installs outside the image's Python environment"),
        ("RUN pip uninstall -y x", "the emulator runs only the installers' `install`"),
        ("RUN --mount=type=secret,id=x pip install x", "RUN --mount=type=secret,id=x is not supported"),
        ("COPY --from=builder /a /b", "COPY --from=builder is not supported"),
        ("ADD https://example.com/x.tgz /x", "ADD from a URL is not supported"),
        ('SHELL ["/bin/bash", "-c"]', "SHELL is not supported by the emulator"),
        ("FROM python:3.11 AS second", "multi-stage builds are not supported"),
        ("ENV ${", "missing '}' in ${...}"),
    ],
)
def test_what_the_emulator_cannot_honour_fails_naming_the_line(line: str, message: str) -> None:
    with pytest.raises(DockerfileError) as raised:
        _translate(f"FROM python:3.11\n# a comment\n{line}\n")
    assert str(raised.value).startswith(f"Dockerfile line 3: {line}: ")
    assert message in str(raised.value)


def test_pip_install_of_installers_alone_is_satisfied_but_with_others_installs() -> None:
    steps = _translate(
        "FROM python:3.11\nRUN pip install -U pip uv==0.5 wheel\nRUN pip install uv inflection\n"
    ).steps
    assert steps[0].actions == (Satisfied("pip install -U pip uv==0.5 wheel"),)
    assert steps[1].actions == (Install(("uv", "inflection"), "/"),)


def test_entrypoint_resets_the_inherited_cmd_and_records_the_rest() -> None:
    parent = ImageConfig(cmd=["python3"])
    config = _translate(
        'FROM python:3.11\nENTRYPOINT ["python", "-m", "app"]\nUSER 1000\n'
        'EXPOSE 8080 53/udp\nLABEL team="ml ops"\n',
        parent=parent,
    ).config
    assert (config.entrypoint, config.cmd, config.user) == (["python", "-m", "app"], None, "1000")
    assert (config.exposed_ports, config.labels) == (["8080/tcp", "53/udp"], {"team": "ml ops"})
    assert _translate("FROM python:3.11\nCMD python app.py\n").config.cmd == [
        "/bin/sh",
        "-c",
        "python app.py",
    ]


def test_shell_words() -> None:
    assert expand_words(r"a\ b 'c d' \"e\"", {}) == ["a b", "c d", '"e"']
    assert split_commands("a 'x && y' && b;c", {}) == [["a", "x && y"], ["b"], ["c"]]
    with pytest.raises(ShellSyntaxError):
        split_commands("a || b", {})


@pytest.mark.parametrize(
    ("name", "expected", "python_base"),
    [
        ("python:3.11-slim", ("docker.io", "library/python", "3.11-slim"), True),
        ("docker.io/library/python:3.11.7", ("docker.io", "library/python", "3.11.7"), True),
        (
            "public.ecr.aws/docker/library/python:3.11",
            ("public.ecr.aws", "docker/library/python", "3.11"),
            True,
        ),
        ("python:3.12-slim", ("docker.io", "library/python", "3.12-slim"), False),
        ("python", ("docker.io", "library/python", "latest"), False),
        ("localhost:5000/team/app", ("localhost:5000", "team/app", "latest"), False),
    ],
)
def test_image_names_read_as_docker_reads_them(
    name: str, expected: tuple[str, str, str], python_base: bool
) -> None:
    reference = parse_reference(name)
    assert (reference.registry, reference.repository, reference.tag) == expected
    assert reference.is_python_base() is python_base
    assert reference.ecr is None


def test_ecr_names_give_account_and_region() -> None:
    reference = parse_reference("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:" + "a" * 64)
    assert (reference.ecr, reference.repository, reference.tag) == (
        ("123456789012", "eu-west-1"),
        "team/app",
        None,
    )


def _image(config: ImageConfig) -> Image:
    environment = Environment(Path("/store/venv/bin/python"), Path("/store/venv/bin"), ())
    return Image("sha256:x", {"config": config.to_json()}, Path("/store"), environment)


def test_container_command_combines_the_job_and_the_image_as_sagemaker_does() -> None:
    image = _image(ImageConfig(workdir="/app", entrypoint=["python3", "/app/run.py"], cmd=["--default"]))
    work = Path("/jobs/one")

    assert container_command("Processing", {}, image, work) == [
        "/store/venv/bin/python",
        "/jobs/one/run.py",
        "--default",
    ]
    assert container_command("Processing", {"ContainerArguments": ["--x"]}, image, work)[-1] == "--x"
    assert container_command("Training", {}, image, work)[-1] == "train"
    assert container_command("Training", {"ContainerEntrypoint": ["bash", "-c", "true"]}, image, work) == [
        "bash",
        "-c",
        "true",
    ]
    with pytest.raises(CommandError):
        container_command("Training", {}, _image(ImageConfig(cmd=["python3"])), work)
