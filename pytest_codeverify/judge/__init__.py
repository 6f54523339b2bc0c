"""Judging in the trusted process: raw results -> verdicts.

:mod:`.verdicts` decides a test's verdict from what the sandbox observed; :mod:`.compare` holds
the comparisons of output and values. Expected values live only on this side.
"""

from ..protocol import Verdict
from ..text import shorten
from .compare import compare_output, compare_relation, compare_value
from .verdicts import Outcome, classify, judge, verdict_of_run

__all__ = ["Outcome", "Verdict", "classify", "compare_output", "compare_relation", "compare_value", "judge",
           "shorten", "verdict_of_run"]
