"""BTYD models on lifetimes, behind scikit-learn-style estimators: the only module that imports lifetimes.

Fits run on the unique (frequency, recency, T) rows with lifetimes' ``weights``
(the count of customers per row): BG/NBD, MBG/NBD, BG/BB and Gamma-Gamma divide
the weighted log-likelihood by the weight sum, so the objective - and the
parameters - are the ones of the customer-level fit, on far fewer rows.
Pareto/NBD divides by the weight *mean* instead, which rescales its objective
by (unique rows / customers); Nelder-Mead moves only by comparing values, so
scaling its function tolerance by the same factor reproduces the plain fit.

BG/NBD, MBG/NBD and Pareto/NBD replace lifetimes' optimiser, not its model:
lifetimes' own ``fit`` runs with its ``_fit`` swapped for BFGS on the same
objective with an analytic gradient (`cxdata.clv.analytic_fit`), several times
faster. The result stands only if lifetimes' own test accepts it; otherwise
lifetimes' untouched fit runs from the same start and decides, so an attempt
fails only when lifetimes fails from that start. ``Attempt.optimiser`` records
which one produced the fit.

Time: `fit_ladder` (and `BtydModel` with ``budget_seconds``) gives a model's
whole ladder a budget. Every objective evaluation, the analytic one or
lifetimes' inside its own optimiser, checks it, so a fit stops within one
evaluation of the limit; the attempt is recorded with "budget of N s
exceeded" and no further start or penalizer is tried.

Robustness: lifetimes raises ``ConvergenceError`` when the optimiser gives up
(typical on data with no visible dropout). `BtydModel.fit` tries a ladder of
starting points and records every attempt; `fit_ladder` repeats that for each
penalizer, so the caller can choose among the fits that converged on the
holdout. When nothing converges `FitFailed` is raised with every attempt:
there is no silent fallback.
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator

from cxdata.clv import analytic_fit, likelihood, likelihood_pareto
from cxdata.clv.expectations import bgnbd_expected_purchases, pareto_expected_purchases, pareto_p_alive

CONTINUOUS_MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")
ANALYTIC_MODELS = (*likelihood.MODELS, "pareto_nbd")


@dataclass(frozen=True)
class _Spec:
    fitter: str  # class name in lifetimes
    params: tuple[str, ...]
    log_space: bool  # lifetimes optimises log(params) (else the params themselves: Pareto/NBD)
    time_params: tuple[str, ...]  # parameters in units of time, rescaled by lifetimes' T scaling
    normaliser: str  # what lifetimes divides the weighted log-likelihood by: "sum" or "mean" of the weights


SPECS: dict[str, _Spec] = {
    "bgnbd": _Spec("BetaGeoFitter", ("r", "alpha", "a", "b"), True, ("alpha",), "sum"),
    "pareto_nbd": _Spec("ParetoNBDFitter", ("r", "alpha", "s", "beta"), False, ("alpha", "beta"), "mean"),
    "mbgnbd": _Spec("ModifiedBetaGeoFitter", ("r", "alpha", "a", "b"), True, ("alpha",), "sum"),
    "bgbb": _Spec("BetaGeoBetaBinomFitter", ("alpha", "beta", "gamma", "delta"), True, (), "sum"),
    "gamma_gamma": _Spec("GammaGammaFitter", ("p", "q", "v"), True, (), "sum"),
}


@dataclass
class Attempt:
    """One optimiser run: its penalizer and starting point, whether it converged, and what it found."""

    model: str
    penalizer: float
    initial_params: list[float]
    converged: bool
    log_likelihood: float | None = None
    params: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    optimiser: str = "lifetimes"  # "analytic" when `cxdata.clv.likelihood` found the accepted point

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the attempt."""
        return asdict(self)


class FitFailed(RuntimeError):
    """No attempt converged; ``attempts`` says what was tried and how each failed."""

    def __init__(self, model: str, attempts: list[Attempt]) -> None:
        errors = sorted({a.error or "?" for a in attempts})
        super().__init__(f"{model}: none of {len(attempts)} fit attempts converged ({'; '.join(errors)})")
        self.model = model
        self.attempts = attempts


def _lifetimes_class(name: str) -> type:
    # imported on first use so that `import cxdata.clv` stays light
    import lifetimes

    return getattr(lifetimes, name)


def unique_rows(rfm: pl.DataFrame, columns: tuple[str, ...] = ("frequency", "recency", "T")) -> pl.DataFrame:
    """The distinct rows of ``columns`` with ``weight``, the number of customers having each; a ``weight``
    column in ``rfm`` (rows already counted, e.g. summed over shards) is summed instead of counting rows."""
    keys = list(columns)
    count = pl.col("weight").sum() if "weight" in rfm.columns else pl.len()
    return rfm.lazy().group_by(keys).agg(count.cast(pl.Float64).alias("weight")).sort(keys).collect()


def starting_points(model: str, seed: int, random_starts: int = 2) -> list[np.ndarray]:
    """Starting points in the optimiser's space: lifetimes' own default first, then 1s, then seeded draws."""
    spec = SPECS[model]
    size = len(spec.params)
    rng = np.random.default_rng(seed)
    logs = [np.full(size, 0.1), np.zeros(size)] + [rng.normal(0.0, 1.0, size) for _ in range(random_starts)]
    if spec.log_space:
        return logs
    # Pareto/NBD starts in parameter space; lifetimes' default is a draw around 1, here exactly 1 first.
    return [np.exp(logs[1]), np.exp(logs[0]), *[np.exp(x) for x in logs[2:]]]


def _scipy_message(printed: str) -> str:
    for line in printed.splitlines():
        if line.strip().startswith("message:"):
            return line.split("message:", 1)[1].strip()
    return ""


class _Base(BaseEstimator):
    """Shared fitting loop: try each starting point until one converges, recording every attempt."""

    def __getstate__(self) -> dict[str, Any]:
        # lifetimes' fitted object keeps a simulation closure (and a bound method that holds it) that pickle
        # cannot store and scoring never uses (cxdata/model_store.py stores fitted models); a copy without them
        # keeps the parameters exactly
        state = super().__getstate__()
        if "fitter_" in state:
            fitter = copy.copy(state["fitter_"])
            for name in ("generate_new_data", "predict"):
                vars(fitter).pop(name, None)
            state["fitter_"] = fitter
        return state

    def _data(self, rows: pl.DataFrame) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def _run(
        self,
        model: str,
        rows: pl.DataFrame,
        starts: list[np.ndarray],
        budget: likelihood.Budget | None = None,
        **fit_kwargs: Any,
    ) -> list[Attempt]:
        spec = SPECS[model]
        cls = _lifetimes_class(spec.fitter)
        data = self._data(rows)
        weights = rows["weight"].to_numpy()
        attempts: list[Attempt] = []
        for start in starts:
            began = time.perf_counter()
            printed = io.StringIO()
            attempt = Attempt(model, float(self.penalizer), [float(x) for x in start], False)
            try:
                # lifetimes prints the whole scipy result on failure and warns on overflow while searching
                with contextlib.redirect_stdout(printed), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = None
                    if model in ANALYTIC_MODELS:
                        try:
                            fitted = self._fit_once(model, cls, data, weights, start, fit_kwargs, budget, True)
                            attempt.optimiser = "analytic"
                        except likelihood.BudgetExceeded:
                            raise
                        except Exception:  # any other failure here: lifetimes decides
                            pass
                    if fitted is None:
                        fitted = self._fit_once(model, cls, data, weights, start, fit_kwargs, budget)
                fitter, attempt.params, attempt.log_likelihood = fitted
                attempt.converged = True
            except Exception as exc:  # ConvergenceError, linear-algebra and domain errors all mean "not this one"
                detail = _scipy_message(printed.getvalue())
                attempt.error = f"{type(exc).__name__}: {str(exc).strip()}" + (f" ({detail})" if detail else "")
            attempt.seconds = round(time.perf_counter() - began, 4)
            attempts.append(attempt)
            if attempt.converged:
                self.fitter_ = fitter
                break
            if _out_of_budget(attempts):
                break
        return attempts

    def _fit_once(
        self,
        model: str,
        cls: type,
        data: tuple[np.ndarray, ...],
        weights: np.ndarray,
        start: np.ndarray,
        fit_kwargs: dict[str, Any],
        budget: likelihood.Budget | None = None,
        analytic: bool = False,
    ) -> tuple[Any, dict[str, float], float]:
        """lifetimes' fit from ``start`` (``analytic``: with the analytic optimiser); raises unless finite."""
        fitter = cls(penalizer_coef=self.penalizer)
        # instance attributes shadow the class' methods for this fit only
        if analytic and model == "pareto_nbd":
            fitter._fit = analytic_fit.pareto_fit(cls._negative_log_likelihood, self.seed, budget)
        elif analytic:
            from lifetimes.fitters import value_and_grad  # what lifetimes differentiates with, for its own test

            objective = value_and_grad(cls._negative_log_likelihood)
            fitter._fit = analytic_fit.bgnbd_fit(model, objective, self.seed, budget)
        if budget is not None:
            fitter._negative_log_likelihood = analytic_fit.checked(cls._negative_log_likelihood, budget)
        try:
            fitter.fit(*data, weights=weights, initial_params=start, **fit_kwargs)
        finally:
            for name in ("_fit", "_negative_log_likelihood"):
                vars(fitter).pop(name, None)
        params = {name: float(fitter.params_[name]) for name in SPECS[model].params}
        ll = _total_log_likelihood(model, cls, params, data, weights)
        if not (np.isfinite(ll) and all(np.isfinite(v) and v > 0 for v in params.values())):
            raise ValueError(f"non-finite fit: log-likelihood {ll}, params {params}")
        return fitter, params, ll


def _out_of_budget(attempts: list[Attempt]) -> bool:
    return bool(attempts) and (attempts[-1].error or "").startswith(likelihood.BudgetExceeded.__name__)


def _total_log_likelihood(
    model: str, cls: type, params: dict[str, float], data: tuple[np.ndarray, ...], weights: np.ndarray
) -> float:
    """The unpenalised log-likelihood summed over customers, in the data's own time units."""
    spec = SPECS[model]
    values = np.array([params[name] for name in spec.params])
    if model == "pareto_nbd":
        # lifetimes' own formula, evaluated in log space: lifetimes' 2F1 overflows to NaN in days for heavy
        # buyers even where the fit (in its scaled time) is fine; where it is finite the two agree to 1e-15
        rows = likelihood_pareto.histories(*data, weights)
        nll = likelihood_pareto.negative_log_likelihood(np.log(values), rows, 0.0)[0]
        return float(-nll * weights.mean())
    point = np.log(values) if spec.log_space else values
    with np.errstate(all="ignore"):
        nll = float(cls._negative_log_likelihood(point, *data, weights, 0.0))
    return float(-nll * (weights.sum() if spec.normaliser == "sum" else weights.mean()))


class BtydModel(_Base):
    """A purchase model (BG/NBD, Pareto/NBD, MBG/NBD, or BG/BB) fitted on an RFM summary.

    Example::

        model = BtydModel("bgnbd", penalizer=0.001).fit(rfm)   # rfm: frequency, recency, T columns
        model.params_, model.log_likelihood_, model.attempts_
        model.expected_purchases(52, f, r, T)                    # numpy in, numpy out
    """

    def __init__(
        self,
        model: str = "bgnbd",
        penalizer: float = 0.0,
        seed: int = 0,
        tol: float | None = None,
        starts: list[list[float]] | None = None,
        budget_seconds: float | None = None,
    ):
        self.model = model
        self.penalizer = penalizer
        self.seed = seed
        self.tol = tol
        self.starts = starts  # starting points in the optimiser's space; None: `starting_points`
        self.budget_seconds = budget_seconds  # for all starting points together; None: no limit

    def _data(self, rows: pl.DataFrame) -> tuple[np.ndarray, ...]:
        return tuple(rows[c].to_numpy() for c in ("frequency", "recency", "T"))

    def fit(self, rfm: pl.DataFrame) -> BtydModel:
        """Fit on the unique (frequency, recency, T) rows; raises `FitFailed` when no starting point converges."""
        budget = None if self.budget_seconds is None else likelihood.Budget.start(self.budget_seconds)
        return self._fit(rfm, budget)

    def _fit(self, rfm: pl.DataFrame, budget: likelihood.Budget | None) -> BtydModel:
        if self.model not in SPECS or self.model == "gamma_gamma":
            known = [*CONTINUOUS_MODELS, "bgbb"]
            raise ValueError(f"unknown purchase model {self.model!r}; expected one of {known}")
        rows = unique_rows(rfm)
        kwargs: dict[str, Any] = {}
        if self.tol is not None:
            kwargs["tol"] = self.tol
        if self.model == "pareto_nbd":
            tol = self.tol if self.tol is not None else 1e-4  # lifetimes' default for Pareto/NBD
            # see the module docstring: the same stopping rule as the customer-level objective
            kwargs |= {"tol": tol, "xatol": tol, "fatol": tol * rows.height / rows["weight"].sum()}
        starts = starting_points(self.model, self.seed)
        if self.starts is not None:
            starts = [np.asarray(s, dtype=float) for s in self.starts]
        self.attempts_ = self._run(self.model, rows, starts, budget, **kwargs)
        if not self.attempts_ or not self.attempts_[-1].converged:
            raise FitFailed(self.model, self.attempts_)
        best = self.attempts_[-1]
        self.params_ = best.params
        self.log_likelihood_ = best.log_likelihood
        self.n_customers_ = int(rows["weight"].sum())
        self.n_unique_rows_ = rows.height
        return self

    def expected_purchases(self, t: float | np.ndarray, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` periods of customers with this history."""
        if self.model == "bgnbd":
            return bgnbd_expected_purchases(self.params_, t, frequency, recency, T)
        if self.model == "pareto_nbd":
            return pareto_expected_purchases(self.params_, t, frequency, recency, T)
        # BG/BB reads ``t`` as future transaction opportunities and ``T`` as the opportunities so far
        with np.errstate(all="ignore"):
            expected = self.fitter_.conditional_expected_number_of_purchases_up_to_time(t, frequency, recency, T)
        return np.asarray(expected)

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that customers with this history are still alive at the end of their observation."""
        if self.model == "pareto_nbd":
            return pareto_p_alive(self.params_, frequency, recency, T)
        with np.errstate(all="ignore"):
            if self.model == "bgbb":
                return np.asarray(self.fitter_.conditional_probability_alive(0, frequency, recency, T))
            return np.asarray(self.fitter_.conditional_probability_alive(frequency, recency, T))

    def p_no_purchase(self, frequency, recency, T, t: float) -> np.ndarray:
        """Probability of no purchase in the next ``t`` periods given the history (BG/NBD family).

        (1 - p_alive) + p_alive * ((alpha + T) / (alpha + T + t)) ** (r + x): a dead
        customer never buys; an alive one's rate has the Gamma(r + x, alpha + T)
        posterior, and with dropout only happening at a purchase (BG/NBD, MBG/NBD)
        no purchase also means no dropout, so the Poisson zero term is exact. For
        Pareto/NBD (continuous dropout) it is a lower bound on P(0 | alive).
        """
        zero_if_alive = self.p_no_purchase_if_alive(frequency, T, t)
        alive = np.clip(self.p_alive(frequency, recency, T), 0.0, 1.0)
        return (1.0 - alive) + alive * zero_if_alive

    def p_no_purchase_if_alive(self, frequency, T, t: float) -> np.ndarray:
        """Probability of no purchase in the next ``t`` periods for a customer known to be alive now.

        ((alpha + T) / (alpha + T + t)) ** (r + x), the Poisson zero under the Gamma(r + x, alpha + T)
        posterior of the purchase rate; evidence of life other than purchases (a visit, an opened mail
        after the last order) makes this, not `p_no_purchase`, the relevant figure.
        """
        if self.model == "bgbb":
            raise NotImplementedError("BG/BB counts opportunities, not continuous time: no p_no_purchase")
        r, alpha = self.params_["r"], self.params_["alpha"]
        frequency, T = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        return ((alpha + T) / (alpha + T + t)) ** (r + frequency)

    def expected_repeat_purchases(self, t: np.ndarray) -> np.ndarray:
        """Unconditional expected repeat purchases of a new customer within ``t`` periods of the first one."""
        t = np.asarray(t, dtype=float)
        if self.model == "bgbb":
            raise NotImplementedError("BG/BB has no continuous-time tracking curve")
        with np.errstate(all="ignore"):
            return np.asarray(self.fitter_.expected_number_of_purchases_up_to_time(t))


@dataclass
class Ladder:
    """Every penalizer's fit that converged, and every attempt made (converged or not)."""

    model: str
    fits: list[BtydModel]
    attempts: list[Attempt]


def fit_first(model: str, rfm: pl.DataFrame, penalizers: list[float], seed: int = 0) -> BtydModel | None:
    """``model`` fitted at the first of ``penalizers`` that converges; None when none does."""
    fits = fit_ladder(model, rfm, penalizers, seed, first=True).fits
    return fits[0] if fits else None


def fit_ladder(
    model: str,
    rfm: pl.DataFrame,
    penalizers: list[float],
    seed: int = 0,
    budget_seconds: float | None = None,
    first: bool = False,
) -> Ladder:
    """Fit ``model`` once per penalizer, each with the ladder of starting points; never raises.

    ``budget_seconds`` bounds the whole ladder: the attempt running when it is
    spent is recorded with "budget of N s exceeded" and the ladder stops there.
    ``first`` stops it at the first penalizer that converges.
    """
    budget = None if budget_seconds is None else likelihood.Budget.start(budget_seconds)
    fits: list[BtydModel] = []
    attempts: list[Attempt] = []
    for penalizer in penalizers:
        estimator = BtydModel(model, penalizer=penalizer, seed=seed, budget_seconds=budget_seconds)
        try:
            fits.append(estimator._fit(rfm, budget))
            attempts += estimator.attempts_
        except FitFailed as failed:
            attempts += failed.attempts
        if _out_of_budget(attempts) or (first and fits):
            break
    return Ladder(model, fits, attempts)


def _correlation(rows: pl.DataFrame) -> float:
    """Pearson's r of frequency and monetary_value over customers, from their distinct rows with ``weight``."""
    w = rows["weight"].to_numpy()
    x, y = rows["frequency"].to_numpy(), rows["monetary_value"].to_numpy()
    dx, dy = x - np.average(x, weights=w), y - np.average(y, weights=w)
    with np.errstate(all="ignore"):
        return float((w * dx * dy).sum() / np.sqrt((w * dx * dx).sum() * (w * dy * dy).sum()))


class SpendModel(_Base):
    """Gamma-Gamma spend model fitted on repeat buyers, after checking frequency-monetary independence.

    Gamma-Gamma assumes a customer's spend per purchase does not depend on how
    often they buy. ``correlation_`` is Pearson's r of frequency and
    monetary_value over the repeat buyers; above ``max_correlation`` in absolute
    value the fit is kept but ``warning_`` says the assumption looks violated.
    0.3 is the conventional boundary of a weak correlation (Cohen); the CDNOW
    sample, the textbook case where the model is accepted, has r = 0.11.
    """

    def __init__(self, penalizer: float = 0.0, max_correlation: float = 0.3, seed: int = 0):
        self.penalizer = penalizer
        self.max_correlation = max_correlation
        self.seed = seed

    def _data(self, rows: pl.DataFrame) -> tuple[np.ndarray, ...]:
        return rows["frequency"].to_numpy(), rows["monetary_value"].to_numpy()

    def fit(self, rfm: pl.DataFrame) -> SpendModel:
        """Fit on customers with frequency > 0 and a positive monetary value (rows with a ``weight`` count that
        many customers, `unique_rows`); raises `FitFailed` if it cannot."""
        repeat = rfm.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
        rows = unique_rows(repeat, ("frequency", "monetary_value"))
        self.n_repeat_buyers_ = int(rows["weight"].sum())
        self.correlation_ = _correlation(rows) if self.n_repeat_buyers_ > 2 else float("nan")
        self.warning_ = (
            f"frequency-monetary correlation {self.correlation_:.3f} exceeds {self.max_correlation}: "
            "Gamma-Gamma's independence assumption looks violated"
            if abs(self.correlation_) > self.max_correlation
            else None
        )
        self.attempts_ = self._run("gamma_gamma", rows, starting_points("gamma_gamma", self.seed))
        last = self.attempts_[-1] if self.attempts_ else None
        if last is None or not last.converged:
            raise FitFailed("gamma_gamma", self.attempts_)
        if last.params["q"] <= 1:
            last.converged = False
            last.error = f"q = {last.params['q']:.4f} <= 1: the population mean is undefined"
            raise FitFailed("gamma_gamma", self.attempts_)
        self.params_ = last.params
        self.log_likelihood_ = last.log_likelihood
        return self

    @property
    def population_mean_(self) -> float:
        """Mean spend per purchase in the population: v p / (q - 1)."""
        p, q, v = (self.params_[k] for k in ("p", "q", "v"))
        return v * p / (q - 1)

    def expected_spend(self, frequency: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """Conditional expected spend per purchase; frequency 0 gives the population mean."""
        p, q = self.params_["p"], self.params_["q"]
        frequency = np.asarray(frequency, dtype=float)
        weight = p * frequency / (p * frequency + q - 1)
        return (1 - weight) * self.population_mean_ + weight * np.asarray(monetary_value, dtype=float)
