"""Request and response bodies, with the server's limits as pydantic constraints."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, create_model
from pydantic_core import PydanticCustomError

from ..config import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT
from .config import ServerLimits


class ExecuteRequest(BaseModel):
    """The body of ``POST /execute``; with ``session_id`` it runs in that tool session."""

    model_config = ConfigDict(extra="forbid")
    code: str
    language: str = "python"
    stdin: str = ""
    time_limit: float = Field(default=DEFAULT_TIME_LIMIT, gt=0)
    memory_limit: int = Field(default=DEFAULT_MEMORY_LIMIT, gt=0)
    session_id: str | None = Field(default=None, max_length=128)


class ExecuteResponse(BaseModel):
    """What ``POST /execute`` answers; the session fields are set only for a session's call."""

    stdout: str
    stderr: str
    exit_code: int | None
    signal: int | None
    verdict: str
    message: str
    time_s: float
    wall_s: float
    truncated: bool
    session_id: str | None = None
    result: str | None = None
    restarted: bool | None = None


class SessionCreated(BaseModel):
    """What ``POST /sessions`` answers."""

    session_id: str
    time_limit: float
    memory_limit: int
    idle_timeout: float


class ExecutePythonRequest(BaseModel):
    """NeMo Gym math_with_code's ``POST /execute_python`` body."""

    code: str


class ExecutePythonResponse(BaseModel):
    """NeMo Gym math_with_code's answer: ``result`` is ``str()`` of a last bare expression."""

    success: bool
    stdout: str
    stderr: str
    error_message: str | None = None
    result: str | None = None


class SeedSessionRequest(BaseModel):
    """NeMo Gym's ``/seed_session`` body (an empty body is the older form and answers ``{}``)."""

    model_config = ConfigDict(extra="forbid")
    resources_session_id: str = Field(min_length=1, max_length=256)
    episode_id: JsonValue
    task_id: JsonValue
    task_data: dict[str, JsonValue]


class CloseSessionRequest(BaseModel):
    """NeMo Gym's ``/close_session`` body."""

    model_config = ConfigDict(extra="forbid")
    resources_session_id: str = Field(max_length=256)
    episode_id: JsonValue


def _utf8_at_most(limit: int) -> Any:
    def check(text: str) -> str:
        if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
            raise PydanticCustomError("string_too_long", "over {limit} bytes", {"limit": limit})
        return text

    return AfterValidator(check)


@functools.cache
def execute_model(limits: ServerLimits) -> type[ExecuteRequest]:
    """:class:`ExecuteRequest` constrained by ``limits`` (one class per set of limits)."""
    return create_model(
        "ExecuteRequest", __base__=ExecuteRequest,
        code=(str, Field(max_length=limits.max_code_chars)),
        stdin=(Annotated[str, _utf8_at_most(limits.max_stdin_bytes)], ""),
        time_limit=(float, Field(default=DEFAULT_TIME_LIMIT, gt=0, le=limits.max_time_limit)),
        memory_limit=(int, Field(default=DEFAULT_MEMORY_LIMIT, gt=0, le=limits.max_memory_limit)),
    )


@functools.cache
def execute_python_model(limits: ServerLimits) -> type[ExecutePythonRequest]:
    """:class:`ExecutePythonRequest` with the code's length bounded by ``limits``."""
    return create_model("ExecutePythonRequest", __base__=ExecutePythonRequest,
                        code=(str, Field(max_length=limits.max_code_chars)))
