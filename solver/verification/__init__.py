"""Verification cases with analytic references: ``CASES`` maps a name to a function returning a
:class:`~solver.verification.cases.CaseResult`."""

from .cases import CASES, CaseResult, run_case

__all__ = ["CASES", "CaseResult", "run_case"]
