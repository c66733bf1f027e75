"""Stand-ins for lifetimes' ``_fit``: the analytic BFGS optimisers, and the tests their points must pass.

`cxdata.clv.btyd` sets one of these on a lifetimes fitter instance for one
fit; lifetimes' own ``fit`` then runs unchanged around it (scaling, parameter
names, its Hessian and standard errors). Each receives lifetimes' own
objective from `cxdata.clv.btyd` (this module does not import lifetimes) and
raises `NotAccepted` unless lifetimes' objective itself agrees with the point:

- BG/NBD and MBG/NBD: lifetimes' convergence test, its autograd gradient at the
  point below ``tol`` (`cxdata.clv.likelihood`).
- Pareto/NBD: lifetimes minimises with Nelder-Mead and has no gradient test.
  The point stands only if lifetimes' objective there is finite, equals the
  analytic value to 1e-8 relative, and is no higher than at any of the eight
  neighbours one ``tol`` away along a log-parameter (a relative step of lifetimes'
  own tolerance, 1e-4 by default): lifetimes' objective itself has its minimum
  there, to lifetimes' precision (`cxdata.clv.likelihood_pareto`).

Every evaluation checks the fit's `likelihood.Budget`; `checked` gives
lifetimes' own objective the same check, so its optimisers stop too.
"""

from __future__ import annotations

import numpy as np

from cxdata.clv import likelihood, likelihood_pareto

# BFGS' gradient tolerance on the per-customer Pareto/NBD objective, as lifetimes' 1e-7 / 10 for BG/NBD
PARETO_GTOL = 1e-8


class NotAccepted(Exception):
    """The analytic optimiser found no point that passes lifetimes' own test."""


def checked(objective, budget: likelihood.Budget):
    """``objective`` that first checks ``budget``: lifetimes' optimisers take no deadline, but call this."""

    def within_budget(*args, **kwargs):
        budget.check()
        return objective(*args, **kwargs)

    return within_budget


def bgnbd_fit(model: str, value_and_grad, seed: int, budget: likelihood.Budget | None = None):
    """``_fit`` for BG/NBD or MBG/NBD; ``value_and_grad``: lifetimes' objective and its autograd gradient.

    Same signature and return value as lifetimes' (log params, objective, Hessian).
    """

    def _fit(args, initial_params, params_size, disp, tol=1e-7, bounds=None, **options):
        frequency, recency, T, weights, penalizer = args
        start = np.full(params_size, 0.1) if initial_params is None else np.asarray(initial_params, dtype=float)
        data = likelihood.histories(model, frequency, recency, T, weights)
        point = likelihood.optimum(data, start, penalizer, tol / 10, seed, budget)
        if point is None:
            raise NotAccepted("analytic BFGS did not converge")
        with np.errstate(all="ignore"):
            value, gradient = value_and_grad(point, *args)
        if not (np.isfinite(value) and np.max(np.abs(gradient)) <= tol):
            raise NotAccepted(f"lifetimes' gradient {np.max(np.abs(gradient)):.2e} exceeds tol {tol}")
        return point, value, likelihood.hessian(point, data, penalizer)

    return _fit


def pareto_fit(objective, seed: int, budget: likelihood.Budget | None = None):
    """``_fit`` for Pareto/NBD; ``objective``: lifetimes' ``ParetoNBDFitter._negative_log_likelihood``.

    Same signature and return value as lifetimes' (params, objective).
    """

    def _fit(args, iterative_fitting, initial_params, params_size, disp, tol=1e-6, *positional, **options):
        frequency, recency, T, weights, penalizer = args
        start = np.ones(params_size) if initial_params is None else np.asarray(initial_params, dtype=float)
        data = likelihood_pareto.histories(frequency, recency, T, weights)
        point = likelihood_pareto.optimum(data, np.log(start), penalizer, PARETO_GTOL, seed, budget)
        if point is None:
            raise NotAccepted("analytic BFGS did not converge")
        ours = likelihood_pareto.negative_log_likelihood(point, data, penalizer)[0]

        def theirs(log_params: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                return float(objective(np.exp(log_params), *args))

        value = theirs(point)
        if not (np.isfinite(value) and abs(value - ours) <= 1e-8 * max(1.0, abs(value))):
            raise NotAccepted(f"lifetimes' objective {value} at the point, the analytic one {ours}")
        slack = 1e-12 * max(1.0, abs(value))  # rounding: a neighbour this close is a tie
        for step in np.vstack([np.eye(4), -np.eye(4)]) * tol:
            if theirs(point + step) < value - slack:
                raise NotAccepted(f"lifetimes' objective is lower {tol} away along {step.tolist()}")
        return np.exp(point), value

    return _fit
