"""``codeverify image build``: recipe choice and the no-op on a present image."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, backend_usable
from pytest_codeverify import cli
from pytest_codeverify.cli.image import RECIPES, base_image, choose_method
from pytest_codeverify.config import DEFAULT_IMAGE


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


def test_recipes_ship_with_the_package() -> None:
    assert RECIPES == ROOT / "pytest_codeverify" / "sandbox" / "images" / "python"
    assert base_image(RECIPES / "Dockerfile") == "python:3.11-slim-bookworm"


@pytest.mark.slow
def test_recipes_are_in_the_wheel(tmp_path: Path) -> None:
    """`codeverify image build` must work from an installed wheel, not only from a checkout."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pytest_codeverify/sandbox/images/python/Dockerfile" in names
    assert "pytest_codeverify/sandbox/images/python/build-offline.sh" in names


@pytest.mark.parametrize(("reachable", "method"), [(True, "dockerfile"), (False, "offline")])
def test_auto_uses_the_registry_only_when_it_answers(reachable: bool, method: str) -> None:
    client = FakeClient(reachable)
    assert choose_method(client, "auto", RECIPES) == method
    assert client.api.asked == ["python:3.11-slim-bookworm"]
    assert choose_method(FakeClient(not reachable), "offline", RECIPES) == "offline"


def test_build_is_a_no_op_when_the_image_is_present(capsys: pytest.CaptureFixture[str]) -> None:
    ok, why = backend_usable("docker")
    if not ok:
        pytest.skip(why)
    assert cli.main(["image", "build"]) == 0
    assert f"image {DEFAULT_IMAGE} is already present" in capsys.readouterr().out


def test_base_image_without_arg(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    assert base_image(tmp_path / "Dockerfile") == "debian:12"
