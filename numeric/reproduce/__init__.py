"""Reproductions of the experiments of Barrett & Dherin, *Implicit Gradient Regularization* (ICLR 2021).

* :mod:`numeric.reproduce.two_param`: the two-parameter model :math:`E = \\tfrac12(y - abx)^2`
  (the paper's Figure 1): GD against its exact modified flows, end points over a sweep of h,
  explicit regularisation;
* :mod:`numeric.reproduce.digits`: MLPs on scikit-learn's bundled digits over sweeps of the
  learning rate and of the explicit-regularisation weight μ, with :math:`R_{IG}`, λ, test
  accuracy, slope and robustness (the paper's Figures 3–5), resumable.

Command line: ``bea reproduce two-param|digits`` (:mod:`bea.cli.reproduce`). The written
summary of a full run is ``docs/reproduction.md``.
"""

from __future__ import annotations

from numeric.reproduce._digits_summary import DigitsResult
from numeric.reproduce.digits import DigitsConfig, run_digits
from numeric.reproduce.two_param import Start, TwoParamConfig, TwoParamResult, run_two_param, write_two_param

__all__ = [
    "DigitsConfig",
    "DigitsResult",
    "Start",
    "TwoParamConfig",
    "TwoParamResult",
    "run_digits",
    "run_two_param",
    "write_two_param",
]
