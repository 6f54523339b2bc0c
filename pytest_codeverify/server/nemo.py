"""NeMo Gym verify requests, read by the ``nemo-gym`` dataset reader (one parser for both).

A verify request is a dataset record plus the model's answer (``response``); the server answers
as a NeMo Gym resources server does: the request echoed, with ``reward`` added.
"""

from __future__ import annotations

from typing import Any

from ..cases import Case, CaseError
from ..formats import Defaults
from ..formats.nemo_gym import NemoGymReader

#: NeMo Gym's code-generation verifier gives 1.0 only when every test passes.
NEMO_GYM_REWARD_MODE = "all"
_READER = NemoGymReader()


def is_nemo_gym_request(body: dict[str, Any]) -> bool:
    """Whether ``body`` has the shape of a NeMo Gym verify request."""
    return "verifier_metadata" in body and "response" in body


def nemo_gym_case(body: dict[str, Any], defaults: Defaults) -> Case:
    """The case a NeMo Gym verify request describes; :class:`CaseError` names the field at fault."""
    cases = _READER.read(body, 1, defaults)
    if len(cases) != 1:
        raise CaseError(f"a verify request must hold one answer, got {len(cases)}", field="response")
    return cases[0]
