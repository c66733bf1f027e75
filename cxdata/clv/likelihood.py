"""BG/NBD and MBG/NBD negative log-likelihoods with analytic gradients, vectorised in numpy.

The objective is lifetimes' own, term for term: the weighted mean negative
log-likelihood over (frequency, recency, T) rows, in log-parameter space, plus
``penalizer * sum(params ** 2)``. lifetimes differentiates it with autograd,
which costs several numpy passes per term; here the gradient is written out,
terms of the frequency alone (the gamma functions) are evaluated once per
distinct frequency and terms of T alone once per distinct T, each weighted by
the customers having it, so only the dropout term is computed row by row.
`cxdata.clv.btyd` uses `optimum` as lifetimes' optimiser. No lifetimes import.

Both models share one form. With ``rx = r + x``, ``lT = log(alpha + T)`` and
``lR = log(alpha + t_x)``, a row's log-likelihood is ``A(x) + r log(alpha)
- rx lT + m softplus(d)`` where ``d = log(a) - log(b + x + k) + rx (lT - lR)``:
BG/NBD has ``k = -1`` and ``m = [x > 0]``, MBG/NBD has ``k = 0`` and ``m = 1``;
``A(x)`` holds the gamma-function terms (``x + 1`` in place of ``x`` in the
beta part for MBG/NBD).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

MODELS = ("bgnbd", "mbgnbd")
# rows of the warm-up fit on a seeded subsample; below twice this the full data is fitted directly
SUBSAMPLE_ROWS = 50_000


def _sum_of_products(x: np.ndarray, y: np.ndarray) -> float:
    # einsum's own loop: BLAS' threaded dot is no faster on one vector and slow on a busy machine
    return float(np.einsum("i,i->", x, y))


@dataclass(frozen=True)
class Histories:
    """The rows of one fit, arranged for fast evaluation; build with `histories`."""

    model: str
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # frequency, recency, T, weights as given
    x: np.ndarray  # distinct frequencies, their share of the weight, and x + k
    x_share: np.ndarray
    x_offset: np.ndarray
    t: np.ndarray  # distinct T, their share of the weight and of weight * frequency
    t_share: np.ndarray
    t_share_x: np.ndarray
    rec: np.ndarray  # distinct recencies
    share: np.ndarray  # rows with the dropout term: weight share, frequency and indices into the distincts
    freq: np.ndarray
    ix: np.ndarray
    it: np.ndarray
    ir: np.ndarray
    beta_shift: float  # 0 for BG/NBD, 1 for MBG/NBD


def histories(model: str, frequency, recency, T, weights) -> Histories:
    """Arrange rows for `negative_log_likelihood` (recency and T in the optimiser's time units)."""
    if model not in MODELS:
        # Pareto/NBD has its own module, cxdata.clv.likelihood_pareto
        raise ValueError(f"no BG/NBD-family likelihood for {model!r}; expected one of {list(MODELS)}")
    rows = tuple(np.asarray(v, dtype=float) for v in (frequency, recency, T, weights))
    frequency, recency, T, weights = rows
    share = weights / weights.sum()
    x, ix = np.unique(frequency, return_inverse=True)
    t, it = np.unique(T, return_inverse=True)
    rec, ir = np.unique(recency, return_inverse=True)
    # BG/NBD's dropout term exists only after a repeat purchase; MBG/NBD's for everybody
    mixed = frequency > 0 if model == "bgnbd" else np.ones(frequency.size, dtype=bool)
    offset = np.where(x > 0, x - 1, 1.0) if model == "bgnbd" else x
    return Histories(
        model,
        rows,
        x,
        np.bincount(ix, weights=share, minlength=x.size),
        offset,
        t,
        np.bincount(it, weights=share, minlength=t.size),
        np.bincount(it, weights=share * frequency, minlength=t.size),
        rec,
        share[mixed],
        frequency[mixed],
        ix[mixed],
        it[mixed],
        ir[mixed],
        0.0 if model == "bgnbd" else 1.0,
    )


def negative_log_likelihood(log_params: np.ndarray, data: Histories, penalizer: float) -> tuple[float, np.ndarray]:
    """lifetimes' penalised mean negative log-likelihood at ``log_params`` (r, alpha, a, b) and its gradient."""
    r, alpha, a, b = np.exp(np.asarray(log_params, dtype=float))
    x, s, shift = data.x, data.x_share, data.beta_shift
    value = _sum_of_products(
        s,
        gammaln(r + x)
        - gammaln(r)
        + gammaln(a + b)
        + gammaln(b + x + shift)
        - gammaln(b)
        - gammaln(a + b + x + shift),
    )
    value += r * np.log(alpha)
    g_r = _sum_of_products(s, digamma(r + x)) - digamma(r) + np.log(alpha)
    g_alpha = r / alpha
    g_a = digamma(a + b) - _sum_of_products(s, digamma(a + b + x + shift))
    g_b = g_a + _sum_of_products(s, digamma(b + x + shift)) - digamma(b)

    # -(r + x) log(alpha + T), on the distinct T
    at = alpha + data.t
    lt = np.log(at)
    value -= r * (data.t_share @ lt) + data.t_share_x @ lt
    g_r -= data.t_share @ lt
    g_alpha -= r * (data.t_share @ (1.0 / at)) + data.t_share_x @ (1.0 / at)

    # the dropout term, row by row
    ar = alpha + data.rec
    gap = lt[data.it] - np.log(ar)[data.ir]
    rx = r + data.freq
    d = (np.log(a) - np.log(b + data.x_offset))[data.ix] + rx * gap
    e = np.exp(-np.abs(d))
    value += _sum_of_products(data.share, np.maximum(d, 0.0) + np.log1p(e))  # softplus(d)
    ws = data.share * (np.where(d >= 0, 1.0, e) / (1.0 + e))  # weight * sigmoid(d)
    g_r += _sum_of_products(ws, gap)
    g_alpha += _sum_of_products(ws, rx * ((1.0 / at)[data.it] - (1.0 / ar)[data.ir]))
    g_a += ws.sum() / a
    g_b -= np.bincount(data.ix, weights=ws, minlength=x.size) @ (1.0 / (b + data.x_offset))

    params = np.array([r, alpha, a, b])
    total = -float(value) + penalizer * float(params @ params)
    # d/d log(theta) = theta * d/d theta
    gradient = -params * np.array([g_r, g_alpha, g_a, g_b]) + 2.0 * penalizer * params**2
    return total, gradient


def _subsample(data: Histories, rows: int, seed: int) -> Histories:
    """A seeded row subsample of about ``rows`` rows: the same objective up to sampling noise."""
    frequency = data.rows[0]
    keep = np.random.default_rng(seed).random(frequency.size) < rows / frequency.size
    return histories(data.model, *(v[keep] for v in data.rows))


class BudgetExceeded(RuntimeError):
    """A fit's time budget ran out before it converged."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"budget of {seconds:g} s exceeded")
        self.seconds = seconds


@dataclass(frozen=True)
class Budget:
    """``seconds`` of fitting granted, spent at ``until`` (a `time.perf_counter` reading)."""

    seconds: float
    until: float

    @classmethod
    def start(cls, seconds: float) -> Budget:
        """A budget of ``seconds`` from now."""
        return cls(seconds, time.perf_counter() + seconds)

    def check(self) -> None:
        """Raise `BudgetExceeded` once the budget is spent."""
        if time.perf_counter() > self.until:
            raise BudgetExceeded(self.seconds)


def _bfgs(objective, data, start: np.ndarray, penalizer: float, gtol: float, hess_inv=None, budget=None):
    options: dict = {"gtol": gtol}
    if hess_inv is not None:
        options["hess_inv0"] = hess_inv

    def timed(point, *args):
        if budget is not None:
            budget.check()  # raised through scipy: the fit stops within one evaluation of the budget
        return objective(point, *args)

    with np.errstate(all="ignore"):
        return minimize(timed, start, args=(data, penalizer), jac=True, method="BFGS", options=options)


def warm_started_minimum(
    objective, subsample, data, n_rows: int, start, penalizer: float, gtol: float, seed: int, budget: Budget | None
) -> np.ndarray | None:
    """BFGS' minimum of ``objective(point, data, penalizer) -> (value, gradient)``; None when BFGS fails.

    On more than twice `SUBSAMPLE_ROWS` rows, BFGS first runs on
    ``subsample(data, SUBSAMPLE_ROWS, seed)``; the full fit then starts at that
    minimum with its inverse-Hessian estimate and needs a handful of passes over
    every row instead of dozens.
    """
    start = np.asarray(start, dtype=float)
    warm, hess_inv = start, None
    if n_rows > 2 * SUBSAMPLE_ROWS:
        # loosely: the subsample's minimum is itself a few percent off, and the full fit refines it
        rough = _bfgs(
            objective, subsample(data, SUBSAMPLE_ROWS, seed), start, penalizer, max(gtol, 1e-5), None, budget
        )
        if np.isfinite(rough.x).all():
            # BFGS' own estimate is symmetric only up to rounding; scipy takes it back only exactly symmetric
            estimate = (rough.hess_inv + rough.hess_inv.T) / 2
            if np.isfinite(estimate).all() and np.linalg.eigvalsh(estimate).min() > 0:
                warm, hess_inv = rough.x, estimate
    result = _bfgs(objective, data, warm, penalizer, gtol, hess_inv, budget)
    if hess_inv is not None and not result.success:
        result = _bfgs(objective, data, start, penalizer, gtol, None, budget)  # the subsample led astray
    return result.x if result.success and np.isfinite(result.x).all() else None


def optimum(
    data: Histories, start, penalizer: float, gtol: float, seed: int = 0, budget: Budget | None = None
) -> np.ndarray | None:
    """The BFGS minimum (lifetimes' method) from ``start`` to gradient ``gtol``; None when BFGS fails.

    Many rows are first fitted on a seeded subsample (`warm_started_minimum`);
    raises `BudgetExceeded` when ``budget`` runs out.
    """
    return warm_started_minimum(
        negative_log_likelihood, _subsample, data, data.rows[0].size, start, penalizer, gtol, seed, budget
    )


def hessian(log_params: np.ndarray, data: Histories, penalizer: float, step: float = 1e-6) -> np.ndarray:
    """The objective's Hessian in log-parameter space, by forward differences of the analytic gradient."""
    log_params = np.asarray(log_params, dtype=float)
    at = negative_log_likelihood(log_params, data, penalizer)[1]
    steps = np.eye(log_params.size) * step
    matrix = np.column_stack(
        [(negative_log_likelihood(log_params + shift, data, penalizer)[1] - at) / step for shift in steps]
    )
    return (matrix + matrix.T) / 2
