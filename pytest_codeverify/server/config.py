"""How the server runs: backend, pool, token, what one request may ask for, tool sessions."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import DEFAULT_IMAGE
from ..formats import Defaults


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask for; beyond these it gets a 4xx."""

    max_body_bytes: int = 32 << 20
    max_code_chars: int = 256 << 10
    max_stdin_bytes: int = 16 << 20
    max_tests: int = 1000
    max_batch: int = 256
    max_time_limit: float = 30.0
    max_memory_limit: int = 4096
    output_limit: int = 1 << 20
    #: Deepest nesting of arrays and objects accepted in a JSON body.
    max_json_depth: int = 100


@dataclass(frozen=True)
class SessionConfig:
    """Tool sessions: how many may live at once, when an idle one ends, its limits."""

    max_sessions: int = 32
    idle_timeout: float = 600.0
    time_limit: float = 10.0
    memory_limit: int = 512
    #: Signs the math_with_code session cookie; a random key per server when unset.
    cookie_secret: str | None = None


@dataclass(frozen=True)
class ServerConfig:
    """How the server runs: backend, pool size, queue bound, token, request limits, sessions."""

    backend: str = "auto"
    image: str = DEFAULT_IMAGE
    bwrap: str | None = None  # the local backend's bubblewrap binary (None: the default choice)
    workers: int = 1
    max_queue: int = 64
    token: str | None = None
    limits: ServerLimits = field(default_factory=ServerLimits)
    defaults: Defaults = field(default_factory=Defaults)
    sessions: SessionConfig = field(default_factory=SessionConfig)
    #: Calibrate time limits from records' reference solutions (``--calibrate``), caching the
    #: measurements in ``cache_dir`` too when set (else for the server's lifetime only).
    calibrate: bool = False
    cache_dir: str | None = None
    #: A Ray cluster (``auto`` or HOST:PORT) that runs /verify's records; None: this machine's pool.
    ray_address: str | None = None
    #: Actors on that cluster, each with a warm sandbox (None: one per CPU of the cluster).
    ray_workers: int | None = None
