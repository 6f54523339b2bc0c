"""pytest-codeverify: verify generated code in a sandbox, from pytest or from Python.

The names below are the public Python API; importing them does not import pytest.
"""

from .api import Candidate, CandidateError, RunResult, Sandbox
from .cases import CaseError
from .engine import CaseReport, TestReport
from .judge import Verdict
from .sandbox.base import SandboxError
from .sessions import Session, SessionResult

__all__ = ["Candidate", "CandidateError", "CaseError", "CaseReport", "RunResult", "Sandbox", "SandboxError",
           "Session", "SessionResult", "TestReport", "Verdict"]
