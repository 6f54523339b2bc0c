"""``codeverify image build``: recipe choice and the no-op on a present image."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, backend_usable
from pytest_codeverify import cli
from pytest_codeverify.cli_image import FIXTURES, base_image, choose_method
from pytest_codeverify.sandbox import DEFAULT_IMAGE


class FakeApi:
    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable
        self.asked: list[str] = []

    def inspect_distribution(self, image: str) -> dict:
        self.asked.append(image)
        if not self.reachable:
            raise ConnectionError("no such host")
        return {}


class FakeClient:
    def __init__(self, reachable: bool) -> None:
        self.api = FakeApi(reachable)


def test_recipes_ship_with_the_project() -> None:
    assert FIXTURES == ROOT / "fixtures" / "python"
    assert base_image(FIXTURES / "Dockerfile") == "python:3.11-slim-bookworm"


@pytest.mark.parametrize(("reachable", "method"), [(True, "dockerfile"), (False, "offline")])
def test_auto_uses_the_registry_only_when_it_answers(reachable: bool, method: str) -> None:
    client = FakeClient(reachable)
    assert choose_method(client, "auto", FIXTURES) == method
    assert client.api.asked == ["python:3.11-slim-bookworm"]
    assert choose_method(FakeClient(not reachable), "offline", FIXTURES) == "offline"


def test_build_is_a_no_op_when_the_image_is_present(capsys: pytest.CaptureFixture[str]) -> None:
    ok, why = backend_usable("docker")
    if not ok:
        pytest.skip(why)
    assert cli.main(["image", "build"]) == 0
    assert f"image {DEFAULT_IMAGE} is already present" in capsys.readouterr().out


def test_base_image_without_arg(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    assert base_image(tmp_path / "Dockerfile") == "debian:12"
