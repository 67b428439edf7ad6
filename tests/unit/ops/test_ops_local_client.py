"""What `local status` finds wrong with the local environment's ZenML client folder, and which
stack `local env` pins, against a server that answers like ZenML's (no process started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from sagemaker_stack.ops.local_client import check_client

URL = "http://127.0.0.1:8237"
PROJECT = "11111111-1111-1111-1111-111111111111"
DEFAULT = "22222222-2222-2222-2222-222222222222"
OURS = "33333333-3333-3333-3333-333333333333"
GONE = "44444444-4444-4444-4444-444444444444"


class FakeServer:
    """`LocalZenMLServer.admin_get` as ZenML's API answers it."""

    url = URL

    def __init__(self, stacks: dict[str, str]) -> None:
        self.stacks = stacks

    def admin_get(self, path: str) -> dict[str, Any] | None:
        if path == "/api/v1/projects/default":
            return {"id": PROJECT, "name": "default"}
        if path.startswith("/api/v1/stacks"):
            return {"items": [{"id": key, "name": name} for key, name in self.stacks.items()]}
        return None


def _folder(tmp_path: Path, config: str | dict[str, Any] | None, logged_in: bool = True) -> Path:
    if isinstance(config, dict):
        config = yaml.safe_dump(config)
    if config is not None:
        (tmp_path / "config.yaml").write_text(config)
    if logged_in:
        (tmp_path / "credentials.yaml").write_text(
            yaml.safe_dump({URL: {"username": "default", "password": "p"}})
        )
    return tmp_path


def _config(stack: str | None = OURS, url: str = URL, kind: str = "rest") -> dict[str, Any]:
    return {"store": {"type": kind, "url": url}, "active_stack_id": stack, "active_project_id": PROJECT}


REGISTERED = {DEFAULT: "default", OURS: "sagemaker-stack"}


def test_a_healthy_folder_has_no_problem_and_pins_the_registered_stack(tmp_path: Path) -> None:
    check = check_client(_folder(tmp_path, _config()), FakeServer(REGISTERED), None)  # type: ignore[arg-type]
    assert check.problems == []
    assert (check.project_id, check.stack_id, check.stack_name) == (PROJECT, OURS, "sagemaker-stack")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("", "config.yaml is empty"),
        ("store: [unclosed", "config.yaml is garbled"),
        (None, "config.yaml is missing"),
        (_config(url="sqlite:////home/u/.config/zenml/local_stores/default_zen_store/zenml.db", kind="sql"),
         "points at another ZenML store (sqlite:////home/u/.config/zenml"),
        (_config(stack=None), "names no active stack"),
        (_config(stack=GONE), f"({GONE}) is not on the server"),
        (_config(stack=DEFAULT), "is ZenML's 'default' stack, not the registered 'sagemaker-stack'"),
    ],
)  # fmt: skip
def test_each_kind_of_damage_is_named_and_the_registered_stack_still_pinned(
    tmp_path: Path, config: str | dict[str, Any] | None, expected: str
) -> None:
    check = check_client(_folder(tmp_path, config), FakeServer(REGISTERED), None)  # type: ignore[arg-type]
    assert len(check.problems) == 1 and expected in check.problems[0], check.problems
    assert check.stack_id == OURS  # what `local env` pins and `local start` restores


def test_a_folder_without_the_login_is_named(tmp_path: Path) -> None:
    check = check_client(_folder(tmp_path, _config(), logged_in=False), FakeServer(REGISTERED), None)  # type: ignore[arg-type]
    assert check.problems == [f"{tmp_path / 'credentials.yaml'} holds no login for {URL}"]


def test_before_any_stack_is_registered_default_is_fine_and_nothing_is_pinned(tmp_path: Path) -> None:
    check = check_client(_folder(tmp_path, _config(stack=DEFAULT)), FakeServer({DEFAULT: "default"}), None)  # type: ignore[arg-type]
    assert check.problems == [] and check.stack_id is None


def test_the_recorded_stack_wins_among_several_and_a_chosen_one_is_kept(tmp_path: Path) -> None:
    other = "55555555-5555-5555-5555-555555555555"
    stacks = {**REGISTERED, other: "experiments"}
    damaged = check_client(_folder(tmp_path, ""), FakeServer(stacks), OURS)  # type: ignore[arg-type]
    assert damaged.stack_id == OURS
    chosen = check_client(_folder(tmp_path, _config(stack=other)), FakeServer(stacks), OURS)  # type: ignore[arg-type]
    assert chosen.problems == [] and chosen.stack_id == other
