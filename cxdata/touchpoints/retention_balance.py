"""Overlap and balance diagnostics of the retention estimate (`cxdata.touchpoints.retention`) from moments
that add up over customer shards: per weighting (treated, unweighted controls, ATT-weighted controls) the
weight, the weighted confounders and their squares, and the propensity extremes."""

from __future__ import annotations

import numpy as np


def moments(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> dict[str, np.ndarray]:
    """The additive sums behind `_diagnostics`: per weighting (treated, unweighted and ATT-weighted controls)
    the weight, weighted features and squares; the controls' squared weights; propensity extremes; overlap."""
    weights = {"t": t.astype(float), "u": (~t).astype(float), "c": (1 - t) * e / (1 - e)}
    square = x * x
    out = {f"w_{n}": np.array(w.sum()) for n, w in weights.items()}
    out |= {f"wx_{n}": w @ x for n, w in weights.items()}
    out |= {f"wx2_{n}": w @ square for n, w in weights.items()}
    treated, control = e[t], e[~t]
    return out | {
        "wc2": np.array((weights["c"] ** 2).sum()),
        "n_t": np.array(float(t.sum())),
        "overlap": np.array(float(((treated >= 0.05) & (treated <= 0.95)).sum())),
        "et_min": np.array(treated.min() if treated.size else np.inf),
        "et_max": np.array(treated.max() if treated.size else -np.inf),
        "ec_min": np.array(control.min() if control.size else np.inf),
        "ec_max": np.array(control.max() if control.size else -np.inf),
    }


def merge_moments(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two shards' moments as one: extremes by min and max, the rest summed."""
    if not a or not b:
        return a or b
    pick = {"_min": np.minimum, "_max": np.maximum}
    return {key: pick.get(key[-4:], np.add)(a[key], b[key]) for key in a}


def diagnostics(m: dict[str, np.ndarray]) -> dict[str, float]:
    """Propensity ranges by group, the treated units' overlap share, the largest standardised mean difference
    of the confounders before and after weighting and the weighted controls' effective sample size."""
    mean = {n: m[f"wx_{n}"] / m[f"w_{n}"] for n in "tuc"}
    variance = [m[f"wx2_{n}"] / m[f"w_{n}"] - mean[n] ** 2 for n in "tu"]
    sd = np.sqrt(np.maximum((variance[0] + variance[1]) / 2, 0.0))

    def smd(a: str, b: str) -> float:
        return float(np.max(np.abs(mean[a] - mean[b]) / np.where(sd > 0, sd, 1.0)))

    return {
        "propensity_treated_min": float(m["et_min"]),
        "propensity_treated_max": float(m["et_max"]),
        "propensity_control_min": float(m["ec_min"]),
        "propensity_control_max": float(m["ec_max"]),
        "overlap_share": float(m["overlap"] / m["n_t"]),
        "max_smd_before": smd("t", "u"),
        "max_smd_after": smd("t", "c"),
        "control_ess": float(m["w_c"] ** 2 / m["wc2"]),
    }
