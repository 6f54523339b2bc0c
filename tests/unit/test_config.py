"""Limits, defaults and run options (config). Pure, no sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_codeverify.config import (
    DEFAULT_IMAGE,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_PASS_K,
    DEFAULT_TIME_LIMIT,
    ConfigError,
    RunConfig,
    choice,
    pass_k_values,
    positive_int,
    positive_number,
    wall_limit,
)


@pytest.mark.parametrize(("value", "parse_text", "expected"), [
    (2, False, 2.0), (0.5, False, 0.5), (1e-9, False, 1e-9),
    ("2.5", True, 2.5), ("3", True, 3.0), (" 4 ", True, 4.0), (7, True, 7.0),
])
def test_positive_number_accepts(value: Any, parse_text: bool, expected: float) -> None:
    result = positive_number(value, "--time-limit", parse_text=parse_text)
    assert result == expected and type(result) is float


@pytest.mark.parametrize(("value", "parse_text"), [
    (0, False), (-1, False), (True, False), (False, False), (float("nan"), False), (float("inf"), False),
    ("2", False), (None, False), ([1], False), ("abc", True), ("", True), ("nan", True), ("inf", True),
    ("-1", True), ("0", True), (10 ** 400, False), (-(10 ** 400), False),
], ids=lambda v: "int-past-float-range" if type(v) is int and abs(v) > 2 ** 1024 else repr(v))
def test_positive_number_refuses_naming_the_option(value: Any, parse_text: bool) -> None:
    with pytest.raises(ConfigError, match=r"^--time-limit: ") as info:
        positive_number(value, "--time-limit", parse_text=parse_text)
    assert info.value.option == "--time-limit"


@pytest.mark.parametrize(("value", "parse_text", "expected"), [
    (1, False, 1), (512, False, 512), ("512", True, 512), (" 64 ", True, 64), (8, True, 8),
])
def test_positive_int_accepts(value: Any, parse_text: bool, expected: int) -> None:
    assert positive_int(value, "--memory-limit", parse_text=parse_text) == expected


@pytest.mark.parametrize(("value", "parse_text"), [
    (0, False), (-5, False), (True, False), (2.0, False), ("512", False), (None, False),
    ("1.5", True), ("lots", True), ("0", True), ("", True),
], ids=repr)
def test_positive_int_refuses_naming_the_option(value: Any, parse_text: bool) -> None:
    with pytest.raises(ConfigError, match=r"^--memory-limit: ") as info:
        positive_int(value, "--memory-limit", parse_text=parse_text)
    assert info.value.option == "--memory-limit"


def test_choice() -> None:
    assert choice("all", ("fraction", "all"), "--reward") == "all"
    with pytest.raises(ConfigError, match=r"^--reward: 'some' is not one of fraction, all$"):
        choice("some", ("fraction", "all"), "--reward")
    with pytest.raises(ConfigError, match="--reward"):
        choice(None, ("fraction", "all"), "--reward")


@pytest.mark.parametrize(("value", "expected"), [
    ("1", (1,)), ("10,1", (1, 10)), ("1,1,5", (1, 5)), (" 1 , 10 ", (1, 10)), ("1,,10,", (1, 10)),
    ((1, 5), (1, 5)), ([100, 1], (1, 100)), (["10", " 2"], (2, 10)),
])
def test_pass_k_values(value: Any, expected: tuple[int, ...]) -> None:
    assert pass_k_values(value, "--pass-k") == expected


@pytest.mark.parametrize("value", ["", "0", "1,0", "-1", "a", "1,a", "1.5", "1e2", "\u0663", [], [0], 5, None,
                                   [1.5], [True], (1, 2.0), ["x"]], ids=repr)
def test_pass_k_values_refused_naming_the_option(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"^--pass-k: "):
        pass_k_values(value, "--pass-k")


def test_wall_limit_is_generous_but_bounded() -> None:
    assert wall_limit(2.0) > 2.0
    assert wall_limit(2.0) < wall_limit(4.0)


OPTIONS: dict[str, Any] = {
    "codeverify_time_scale": "1", "codeverify_calibrate": False, "codeverify_cache_dir": None,
    "codeverify_bwrap": None,
    "codeverify_backend": "local", "codeverify_image": None, "codeverify_rewards": "out.jsonl",
    "codeverify_reward": "all", "codeverify_format": "mbpp", "codeverify_time_limit": "1.5",
    "codeverify_memory_limit": "256", "codeverify_output_limit": 4096, "codeverify_extract": "lenient",
    "codeverify_pass_k": "1,10", "codeverify_problems": None, "codeverify_early_stop": "auto",
}


def from_options(**changes: Any) -> RunConfig:
    options = {**OPTIONS, **changes}
    return RunConfig.from_options(options.__getitem__, ("native", "mbpp"))


def test_run_config_from_options() -> None:
    config = from_options()
    assert config == RunConfig(backend="local", image=DEFAULT_IMAGE, rewards_path=Path("out.jsonl"),
                               reward_mode="all", format="mbpp", time_limit=1.5, memory_limit=256,
                               output_limit=4096, lenient_extraction=True, pass_k=(1, 10), problems_path=None,
                               early_stop=True)


@pytest.mark.parametrize(("reward", "value", "expected"), [
    ("all", "auto", True), ("all", None, True), ("all", "off", False), ("all", "on", True),
    ("fraction", "auto", False), ("fraction", "off", False), ("fraction", None, False)])
def test_early_stop_is_on_in_all_mode_unless_turned_off(reward: str, value: Any, expected: bool) -> None:
    assert from_options(codeverify_reward=reward, codeverify_early_stop=value).early_stop is expected


def test_early_stop_is_refused_with_a_fraction_reward() -> None:
    with pytest.raises(ConfigError, match=r"^--codeverify-early-stop: early stop needs .*'all'"):
        from_options(codeverify_reward="fraction", codeverify_early_stop="on")
    with pytest.raises(ConfigError, match=r"^--codeverify-early-stop: expected true or false"):
        from_options(codeverify_reward="all", codeverify_early_stop="sometimes")


def test_run_config_defaults() -> None:
    config = RunConfig()
    assert (config.time_limit, config.memory_limit, config.output_limit) == (
        DEFAULT_TIME_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT)
    assert config.pass_k == DEFAULT_PASS_K and config.rewards_path is None and not config.lenient_extraction


def test_run_config_optional_paths() -> None:
    config = from_options(codeverify_rewards=None, codeverify_problems="p.jsonl", codeverify_image="img:1",
                          codeverify_extract="strict")
    assert config.rewards_path is None and config.problems_path == "p.jsonl" and config.image == "img:1"
    assert not config.lenient_extraction and config.bwrap is None
    assert from_options(codeverify_bwrap="/opt/bwrap").bwrap == "/opt/bwrap"


@pytest.mark.parametrize(("key", "value", "option"), [
    ("codeverify_backend", "vm", "--codeverify-backend"),
    ("codeverify_reward", "best", "--codeverify-reward"),
    ("codeverify_format", "csv", "--codeverify-format"),
    ("codeverify_time_limit", "soon", "--codeverify-time-limit"),
    ("codeverify_time_limit", "0", "--codeverify-time-limit"),
    ("codeverify_memory_limit", "1.5", "--codeverify-memory-limit"),
    ("codeverify_output_limit", -1, "--codeverify-output-limit"),
    ("codeverify_extract", "loose", "--codeverify-extract"),
    ("codeverify_pass_k", "0", "--codeverify-pass-k"),
])
def test_run_config_bad_option_is_named(key: str, value: Any, option: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_options(**{key: value})
    assert info.value.option == option
    assert str(info.value).startswith(f"{option}: ")


def test_run_config_custom_option_names() -> None:
    options = {**OPTIONS, "codeverify_time_limit": "-2"}
    with pytest.raises(ConfigError, match=r"^time_limit: "):
        RunConfig.from_options(options.__getitem__, ("mbpp",), name=lambda key: key.removeprefix("codeverify_"))
