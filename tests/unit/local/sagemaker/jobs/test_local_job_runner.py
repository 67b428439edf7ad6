"""Without a private /opt/ml: a job that copies data is refused, any other is told so in its log."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sagemaker_stack.local.images.store import root_image
from sagemaker_stack.local.sagemaker.engine import JOB_KINDS
from sagemaker_stack.local.sagemaker.jobs import isolation
from sagemaker_stack.local.sagemaker.jobs.runner import JobPlace, JobSetupError, prepare, run
from tests.support.object_store import DictStore

UNAVAILABLE = isolation.Isolation(None, "this system has no unshare")


class ListSink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def close(self) -> None:
        pass


@pytest.fixture
def no_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "available", lambda: UNAVAILABLE)


def training_arguments(code: str, **extra: object) -> dict[str, object]:
    return {
        "AlgorithmSpecification": {"TrainingImage": "x", "ContainerEntrypoint": ["python3", "-c", code]},
        "OutputDataConfig": {"S3OutputPath": "s3://b/models"},
        **extra,
    }


def test_without_isolation_a_job_that_copies_data_is_refused_with_the_reason(
    no_isolation: None, tmp_path: Path
) -> None:
    channel = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}},
    }
    arguments = training_arguments("pass", InputDataConfig=[channel])

    with pytest.raises(JobSetupError) as raised:
        prepare(
            JOB_KINDS["Training"],
            "job",
            arguments,
            root_image(),
            JobPlace(tmp_path / "job"),
            DictStore({"b": {}}),
            region="us-east-1",
        )

    assert (
        "cannot give this job its own /opt/ml on this machine (this system has no unshare)"
        in raised.value.reason
    )
    assert "input 'train' at /opt/ml/input/data/train" in raised.value.reason
    assert not raised.value.job_created
    assert not (tmp_path / "job").exists()


def test_without_isolation_a_job_without_data_runs_and_its_log_says_so(
    no_isolation: None, tmp_path: Path
) -> None:
    store = DictStore({"b": {}})
    place = JobPlace(tmp_path / "job")
    kind = JOB_KINDS["Training"]
    arguments = training_arguments("print('trained')")
    data = prepare(kind, "job", arguments, root_image(), place, store, region="us-east-1")
    sink = ListSink()

    result = run(
        kind,
        "job",
        arguments,
        root_image(),
        data,
        place,
        store=store,
        region="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        open_sink=lambda: sink,
        stop=threading.Event(),
        track=lambda process: None,
    )

    assert result.status == "Succeeded", result
    assert sink.lines[0].startswith(
        "emulator: this machine cannot give the job its own /opt/ml (this system has no unshare)"
    )
    assert "model.tar.gz" in sink.lines[0]
    assert sink.lines[1:] == ["trained"]
    assert store.buckets["b"] == {}  # no empty model.tar.gz pretending to be the model


def test_the_probe_names_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    found = isolation._probe()

    assert not found.available
    assert "unshare" in found.reason and "mount" in found.reason
