"""Shapley values: exact over every coalition for a given game, and for journeys over their touchpoint sets.

Coalitions are bitmasks (player i is bit i), so a game of n players is a vector
of 2**n values and each player's value is one weighted sum over the coalitions
without it; nothing loops over coalitions in Python.

For journeys the game is the one of Zhao et al. (2018, "Shapley value methods
for attribution modeling in online advertising"): v(S) is the value
(conversions, revenue or clv) of the converting journeys whose set of
touchpoints is a subset of S. ``set_game_shapley`` enumerates it exactly.
Since that v is a sum of unanimity games, one per touchpoint set T weighted by
the value of the journeys with exactly that set, its Shapley value is also each
journey's value split equally over its distinct touchpoints (Zhao et al.'s
simplified formula): ``attribute`` uses that closed form above
``shapley_exact_max`` touchpoints, where 2**n coalitions get too many. It is
exact too, not an approximation; the tests check both agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import factorial

import numpy as np

from cxdata.errors import CxdataError

MAX_EXACT_PLAYERS = 22  # 2**22 coalitions x a few value columns is still a few hundred MB at most


def shapley_values(values: Mapping[frozenset[str], float]) -> dict[str, float]:
    """Exact Shapley value of each player of the game ``values`` (coalition -> worth; absent coalitions are 0).

    Players are every member of any coalition given. Raises for more than
    MAX_EXACT_PLAYERS players: the enumeration is exponential.
    """
    players = sorted(set().union(*values.keys())) if values else []
    if len(players) > MAX_EXACT_PLAYERS:
        raise CxdataError(f"exact Shapley values need at most {MAX_EXACT_PLAYERS} players, got {len(players)}")
    bit = {p: 1 << i for i, p in enumerate(players)}
    worth = np.zeros((1 << len(players), 1))
    for coalition, value in values.items():
        worth[sum(bit[p] for p in coalition), 0] = float(value)
    phi = game_shapley(worth, len(players))
    return {p: float(phi[i, 0]) for i, p in enumerate(players)}


def game_shapley(worth: np.ndarray, n: int) -> np.ndarray:
    """Shapley values (n x m) of m games given as worth (2**n x m), coalition bitmask -> worth."""
    size = 1 << n
    members = _popcount(size)
    weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.empty((n, worth.shape[1]))
    for i in range(n):
        halves = worth.reshape(size >> (i + 1), 2, 1 << i, worth.shape[1])
        without = members.reshape(size >> (i + 1), 2, 1 << i)[:, 0, :]
        gain = halves[:, 1] - halves[:, 0]
        phi[i] = np.einsum("abm,ab->m", gain, weight[without])
    return phi


def set_game_shapley(set_values: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values (n x m) of v(S) = sum of ``set_values`` (2**n x m, by exact set) over subsets of S."""
    worth = set_values.astype(np.float64, copy=True)
    size = 1 << n
    for i in range(n):  # sum over subsets, one bit at a time
        halves = worth.reshape(size >> (i + 1), 2, 1 << i, worth.shape[1])
        halves[:, 1] += halves[:, 0]
    return game_shapley(worth, n)


def _popcount(size: int) -> np.ndarray:
    masks = np.arange(size, dtype=np.int64)
    count = np.zeros(size, dtype=np.int64)
    while masks.any():
        count += masks & 1
        masks >>= 1
    return count
