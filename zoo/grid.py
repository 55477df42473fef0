"""A tabular policy on the env's grid: one cell label per state, for the terminal (`zoo train`
of a planner) and for the value map of `zoo plot` alike.

Cells the map marks (cliff C, hole H, goal G/T) show their letter, the others the policy's
action as an arrow in the env's own action order.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

ARROWS = ("↑", "→", "↓", "←")  # CliffWalking's action order: UP, RIGHT, DOWN, LEFT
# FrozenLake numbers its actions LEFT, DOWN, RIGHT, UP; other grids follow CliffWalking.
ARROWS_BY_ENV_CLASS = {"FrozenLakeEnv": ("←", "↓", "→", "↑")}


def grid_labels(env: gym.Env, policy: np.ndarray) -> list[list[str]] | None:
    """Rows of cell labels, or None for an env that is not a 4-action grid of len(policy) cells."""
    unwrapped = env.unwrapped
    shape: tuple[int | None, int | None] = getattr(unwrapped, "shape", None) or (
        getattr(unwrapped, "nrow", None), getattr(unwrapped, "ncol", None))
    rows, cols = shape
    action_space = env.action_space
    if rows is None or cols is None or not isinstance(action_space, gym.spaces.Discrete) or action_space.n != 4:
        return None
    if rows * cols != len(policy):
        return None
    arrows = ARROWS_BY_ENV_CLASS.get(type(unwrapped).__name__, ARROWS)
    desc = getattr(unwrapped, "desc", None)
    cliff = getattr(unwrapped, "_cliff", None)
    labels = []
    for row in range(rows):
        cells = []
        for col in range(cols):
            mark = desc[row][col].decode() if desc is not None else "."
            if cliff is not None and cliff[row, col]:
                mark = "C"
            if desc is None and row == rows - 1 and col == cols - 1:
                mark = "G"  # Gymnasium's CliffWalking has no map: its goal is the corner
            cells.append(mark if mark in "CHGT" else arrows[int(policy[row * cols + col])])
        labels.append(cells)
    return labels


def policy_grid(env: gym.Env, policy: np.ndarray) -> str | None:
    """The policy as text, a row per line, or None for an env that is not a grid."""
    labels = grid_labels(env, policy)
    return None if labels is None else "\n".join(" ".join(row) for row in labels)
