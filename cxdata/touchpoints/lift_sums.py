"""The sums behind the lift estimate and its bootstrap replicates (`cxdata.touchpoints.lift`).

Every figure of the estimate is a ratio of sums over contacts of six per-contact columns (scored, eligible,
stepped, excess through a click, excess without one, order value), per touchpoint. A bootstrap replicate
reweights customers, so the columns are summed once per customer and touchpoint into a sparse customers x
(touchpoints x 6) matrix, and a block of replicates is one product of their weights with it.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from cxdata.touchpoints.resample import weight_blocks

WIDTH = 6  # scored, total, stepped, through_click, without_click, value


def contact_columns(excess: dict[str, np.ndarray]) -> np.ndarray:
    """The six columns of every contact (contacts x 6); contacts left out (captured clicks) are zero."""
    eligible = excess["eligible"].astype(np.float64)
    return np.column_stack(
        [
            eligible * excess["complete"],
            eligible,
            eligible * excess["stepped"],
            eligible * excess["orders"] * excess["clicked"],
            eligible * excess["step"] * ~excess["clicked"],
            eligible * excess["value"],
        ]
    )


def code_sums(columns: np.ndarray, code: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Weighted column sums per touchpoint code (k x 6)."""
    return np.column_stack([np.bincount(code, weights=weight * columns[:, j], minlength=k) for j in range(WIDTH)])


def parts(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Incremental orders per touchpoint through a click (not yet divided by the post-session share) and
    without one, and the contacted customers' mean order value, from sums shaped (..., k, 6)."""
    scored, total, stepped, clicked, step, value = (sums[..., j] for j in range(WIDTH))
    return {
        "through_click": clicked / np.maximum(scored, 1e-12) * total,
        "without_click": step / np.maximum(stepped, 1e-12) * total,
        "value": value / np.maximum(total, 1e-12),
    }


def late_share(through_click: np.ndarray, in_session: np.ndarray, scheduled: np.ndarray) -> np.ndarray:
    """The share of what comes through a click that arrives after the click's session, from the touchpoints
    whose contacts the company schedules (``scheduled`` codes; their clicks are not caused by the order):
    orders in their clicks' sessions (``in_session``) against all their clicked contacts' excess."""
    response = through_click[..., scheduled].sum(axis=-1)
    caught = in_session[..., scheduled].sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(1.0 - caught / response, 0.2, 1.0)
    return np.where(response > 0, share, 1.0)


def replicate_sums(
    columns: np.ndarray,
    idx: np.ndarray,
    code: np.ndarray,
    session: np.ndarray,
    bases: np.ndarray,
    k: int,
    replicates: int,
    block: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate, the column sums per touchpoint (replicates x k x 6) and the orders in the sessions of
    scheduled touchpoints' clicks (replicates x k), under Poisson(1) customer weights drawn from the customers'
    stream ``bases`` (`cxdata.touchpoints.resample`); ``idx`` and ``session`` rows (customer, code, orders)
    index ``bases``."""
    customers = bases.size
    cells = (code[:, None] * WIDTH + np.arange(WIDTH)).ravel()
    matrix = sparse.csr_matrix(
        (columns.ravel(), (np.repeat(idx, WIDTH), cells)), shape=(customers, k * WIDTH)
    ).T.tocsr()
    sessions = sparse.csr_matrix(
        (session[:, 2], (session[:, 0].astype(np.int64), session[:, 1].astype(np.int64))), shape=(customers, k)
    ).T.tocsr()
    sums = np.empty((replicates, k, WIDTH))
    caught = np.empty((replicates, k))
    for start, weights in weight_blocks(bases, replicates, block):
        size = weights.shape[0]
        sums[start : start + size] = (matrix @ weights.T).T.reshape(size, k, WIDTH)
        caught[start : start + size] = (sessions @ weights.T).T
    return sums, caught
