"""Fitted models kept between runs: the ``model_artifacts`` table and the refit cadence of CLV, churn and
touchpoints.

A fit (model_runs mode fit) stores what scoring needs as one pickle per kind in
``model_artifacts``, in the transaction that appends its model_runs row: CLV's
purchase, spend and boosted models (`cxdata.clv.step.ClvFit`), churn's
classifier with its features and reason references (`cxdata.churn.train.Training`),
a touchpoint computation what its asset shows beside touchpoint_scores
(`cxdata.touchpoints.step.TouchpointReport` without the scores).
Every later run decides (`decide`) whether to fit again or to score with the
last fit:

- refit when forced, when no ok fit of that kind has an artifact, when the last
  fit is ``models.refit_every_days`` or more older than this run's as_of (or
  newer than it: it has seen orders this run must not), when the kind's config
  differs from the fit's, or when its artifact cannot be used: written by other
  versions of cxdata, Python, numpy, scikit-learn or lifetimes (a pickle is only
  safe to load where it was written), a sha256 that does not match its bytes, or
  bytes that do not unpickle;
- otherwise score with it (touchpoints: keep its published figures).

The decision's reason is recorded in the run's model_runs row (mode_reason).
The payload is unpickled, so it must only ever come from this warehouse: the
checksum detects corruption, not tampering by someone who can write the table.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import polars as pl
from pydantic import BaseModel

from cxdata.model_runs import cxdata_version, to_json
from cxdata.run_context import RunContext
from cxdata.sealed import intact, seal, unseal
from cxdata.warehouse import Warehouse
from cxdata.warehouse.transaction import Transaction

TABLE = "model_artifacts"
FORMAT = "pickle"
# what must match for a stored pickle to load and predict as it did when it was written
LIBRARIES = ("numpy", "scikit-learn", "lifetimes")
COLUMNS: dict[str, pl.DataType] = {
    "model_run_id": pl.String(),
    "kind": pl.String(),
    "format": pl.String(),
    "sha256": pl.String(),
    "bytes": pl.Int64(),
    "payload": pl.Binary(),
    "cxdata_version": pl.String(),
    "python_version": pl.String(),
    "numpy_version": pl.String(),
    "scikit_learn_version": pl.String(),
    "lifetimes_version": pl.String(),
}
_VERSIONS = [c for c in COLUMNS if c.endswith("_version")]


class UnusableArtifact(ValueError):
    """A stored artifact that cannot be used to score: missing, other versions, a bad checksum or pickle."""


def versions() -> dict[str, str]:
    """The versions an artifact written now records, by column name."""

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    found = {f"{name.replace('-', '_')}_version": installed(name) for name in LIBRARIES}
    return {"cxdata_version": cxdata_version(), "python_version": "{}.{}".format(*sys.version_info[:2]), **found}


def artifact(model_run_id: str, kind: str, value: Any) -> pl.DataFrame:
    """The ``model_artifacts`` row storing ``value`` (pickled) for the ``kind`` model of ``model_run_id``."""
    row = {"model_run_id": model_run_id, "kind": kind, "format": FORMAT, **seal(value), **versions()}
    return pl.DataFrame([row], schema=COLUMNS)


def stage(tx: Transaction, *frames: pl.DataFrame | None) -> None:
    """Append the artifact rows of ``frames`` (None: that model did not fit) in ``tx``, the transaction of their
    model_runs rows, replacing rows of the same model runs (a step retried under one run id stores its fit
    once)."""
    present = [f for f in frames if f is not None]
    rows = pl.concat(present) if present else None
    if rows is not None and rows.height:
        tx.append(TABLE, rows, replace={"model_run_id": rows["model_run_id"].unique().sort().to_list()})


def load(wh: Warehouse, model_run_id: str, kind: str) -> Any:
    """The stored ``kind`` model of ``model_run_id``; raises `UnusableArtifact` saying why it cannot be used."""
    if not wh.exists(TABLE):
        raise UnusableArtifact(f"{TABLE} does not exist")
    rows = wh.read(TABLE, where={"model_run_id": model_run_id, "kind": kind})
    if rows.height != 1:
        raise UnusableArtifact(f"{rows.height} {kind} artifacts stored for {model_run_id}, expected 1")
    row = rows.row(0, named=True)
    current = versions()
    differ = [f"{c} {row[c]} != {current[c]}" for c in _VERSIONS if row[c] != current[c]]
    if differ:
        raise UnusableArtifact(f"written by other versions: {', '.join(differ)}")
    if row["format"] != FORMAT:
        raise UnusableArtifact(f"format {row['format']!r} is not {FORMAT!r}")
    if not intact(row):
        raise UnusableArtifact("its bytes do not match the stored sha256 and length")
    try:
        return unseal(row)
    except Exception as exc:  # any unpickling failure makes the artifact unusable, nothing more
        raise UnusableArtifact(f"it does not unpickle: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Decision:
    """Whether a run fits the ``kind`` model or scores with a stored one: ``fit`` is that fit's model_runs row
    (None: refit), ``model`` its loaded artifact, ``reason`` why, as model_runs.mode_reason records it."""

    kind: str
    reason: str
    fit: dict[str, Any] | None = None
    model: Any = None

    @property
    def refit(self) -> bool:
        """True when the run must train the model."""
        return self.fit is None


def last_fit(wh: Warehouse, kind: str, as_of: dt.datetime | None = None) -> dict[str, Any] | None:
    """The model_runs row of the latest ok ``kind`` fit with a stored artifact (as of ``as_of`` or earlier when
    given; ties by the latest start), or None."""
    if not (wh.exists(TABLE) and wh.exists("model_runs")) or "mode" not in wh.columns("model_runs"):
        return None
    stored = wh.read(TABLE, columns=["model_run_id"], where={"kind": kind}).unique()
    fits = wh.read("model_runs", where={"kind": kind, "status": "ok", "mode": "fit"})
    fits = fits.join(stored, on="model_run_id", how="semi")
    if as_of is not None:
        fits = fits.filter(pl.col("as_of") <= as_of)
    return fits.sort("as_of", "trained_at").row(-1, named=True) if fits.height else None


def decide(
    wh: Warehouse,
    kind: str,
    run: RunContext,
    every_days: int,
    config: BaseModel,
    refit: bool = False,
    keep: str = "scored with",
) -> Decision:
    """Fit or score the ``kind`` model in ``run`` (see the module doc): ``every_days`` is
    models.refit_every_days, ``config`` the kind's models section, ``refit`` forces a fit, ``keep`` opens the
    reason of a run that uses the stored fit (touchpoints keep its figures instead of scoring)."""
    if refit:
        return Decision(kind, "refit forced")
    fit = last_fit(wh, kind)
    if fit is None:
        return Decision(kind, f"no usable {kind} fit yet")
    name, age = fit["model_run_id"], run.as_of - fit["as_of"]
    if age < dt.timedelta(0):
        return Decision(kind, f"the last fit {name} is as of {fit['as_of'].isoformat()}, after this run's as_of")
    if age >= dt.timedelta(days=every_days):
        return Decision(kind, f"the last fit {name} is {_days(age)} old (refit every {every_days} days)")
    if fit["config_json"] != to_json(config.model_dump()):
        return Decision(kind, f"the {kind} config differs from the last fit {name}'s")
    try:
        model = load(wh, name, kind)
    except UnusableArtifact as exc:
        return Decision(kind, f"the stored {kind} model of {name} is unusable: {exc}")
    return Decision(kind, f"{keep} {name}, {_days(age)} old (refit every {every_days} days)", fit, model)


def _days(age: dt.timedelta) -> str:
    return f"{age.total_seconds() / 86400:g} days"
