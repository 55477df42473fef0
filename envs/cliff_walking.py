"""The 4x12 cliff walk of Sutton & Barto (Example 6.6), with a terminating cliff.

Layout, actions, state numbering, ``info["prob"]`` and the ansi symbols follow Gymnasium's
``CliffWalking-v1`` so code written for one works on the other. The one difference, on
purpose (it is the version of the seed notes): stepping into the cliff gives -100 and *ends*
the episode, where Gymnasium sends the agent back to the start and goes on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import Env, spaces

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
ACTION_NAMES = ("UP", "RIGHT", "DOWN", "LEFT")
# (row, col) change of each action, indexed by action.
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))

Transition = tuple[float, int, float, bool]

_COLORS = {
    "floor": (236, 236, 228),
    "grid": (170, 170, 160),
    "cliff": (92, 64, 51),
    "start": (190, 210, 235),
    "goal": (120, 200, 120),
    "agent": (200, 40, 40),
}


class CliffWalking4x12Env(Env):
    """4 rows x 12 columns; start bottom-left, goal bottom-right, the cliff between them.

    Observation: the integer state ``row * 12 + col``. Actions: UP=0, RIGHT=1, DOWN=2, LEFT=3;
    moving into a wall leaves the agent in place. Every step costs -1; stepping into the cliff
    costs -100 and terminates; reaching the goal terminates.

    ``P[s][a]`` is the explicit model, ``[(prob, next_state, reward, terminated)]``, built once.
    Cliff and goal cells are absorbing in ``P`` (reward 0, terminated) so planners can sweep
    every state; an episode never starts from them.
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, cell_size: int = 32):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.shape = (4, 12)
        self.nrow, self.ncol = self.shape
        self.nS = self.nrow * self.ncol
        self.nA = 4
        self.start_state = self._index(3, 0)
        self.goal_state = self._index(3, 11)
        self._cliff = np.zeros(self.shape, dtype=bool)
        self._cliff[3, 1:-1] = True
        # The map as FrozenLake spells it, so viewers and planners can label cells.
        desc = np.full(self.shape, b".", dtype="|S1")
        desc[self._cliff] = b"C"
        desc[3, 0], desc[3, 11] = b"S", b"G"
        self.desc = desc

        self.observation_space = spaces.Discrete(self.nS)
        self.action_space = spaces.Discrete(self.nA)
        self.P: dict[int, dict[int, list[Transition]]] = {
            s: {a: [self._transition(s, a)] for a in range(self.nA)} for s in range(self.nS)
        }

        self.render_mode = render_mode
        if isinstance(cell_size, bool) or not isinstance(cell_size, (int, np.integer)) or not 1 <= cell_size <= 256:
            raise ValueError(f"cell_size must be a whole number of pixels from 1 to 256, got {cell_size!r:.40}")
        self.cell_size = int(cell_size)
        self.s = self.start_state
        self.lastaction: int | None = None
        self._window = None
        self._clock = None

    def _index(self, row: int, col: int) -> int:
        return row * self.ncol + col

    def _is_terminal(self, state: int) -> bool:
        row, col = divmod(state, self.ncol)
        return bool(self._cliff[row, col]) or state == self.goal_state

    def _transition(self, state: int, action: int) -> Transition:
        if self._is_terminal(state):
            return (1.0, state, 0.0, True)
        row, col = divmod(state, self.ncol)
        d_row, d_col = _MOVES[action]
        row = min(max(row + d_row, 0), self.nrow - 1)
        col = min(max(col + d_col, 0), self.ncol - 1)
        next_state = self._index(row, col)
        if self._cliff[row, col]:
            return (1.0, next_state, -100.0, True)
        return (1.0, next_state, -1.0, next_state == self.goal_state)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.s = self.start_state
        self.lastaction = None
        if self.render_mode == "human":
            self.render()
        return int(self.s), {"prob": 1.0}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(
                f"CliffWalking4x12-v0: invalid action {action!r}; "
                "expected an int in [0, 4): UP=0, RIGHT=1, DOWN=2, LEFT=3"
            )
        prob, next_state, reward, terminated = self.P[self.s][int(action)][0]
        self.s = next_state
        self.lastaction = int(action)
        if self.render_mode == "human":
            self.render()
        return int(next_state), float(reward), bool(terminated), False, {"prob": prob}

    # ---- rendering -------------------------------------------------------------------

    def render(self):
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            return self._render_text()
        frame = self._render_rgb()
        if self.render_mode == "rgb_array":
            return frame
        self._show(frame)
        return None

    def _render_text(self) -> str:
        rows = []
        for row in range(self.nrow):
            cells = []
            for col in range(self.ncol):
                state = self._index(row, col)
                if state == self.s:
                    cells.append("x")
                elif state == self.goal_state:
                    cells.append("T")
                elif self._cliff[row, col]:
                    cells.append("C")
                else:
                    cells.append("o")
            rows.append("  ".join(cells))
        return "\n".join(rows) + "\n\n"

    def _render_rgb(self) -> np.ndarray:
        """Draw the grid with numpy alone, so rgb_array needs no pygame."""
        size = self.cell_size
        frame = np.empty((self.nrow * size, self.ncol * size, 3), dtype=np.uint8)
        for row in range(self.nrow):
            for col in range(self.ncol):
                state = self._index(row, col)
                if self._cliff[row, col]:
                    color = _COLORS["cliff"]
                elif state == self.goal_state:
                    color = _COLORS["goal"]
                elif state == self.start_state:
                    color = _COLORS["start"]
                else:
                    color = _COLORS["floor"]
                frame[row * size : (row + 1) * size, col * size : (col + 1) * size] = color
        frame[::size, :] = _COLORS["grid"]
        frame[:, ::size] = _COLORS["grid"]
        frame[-1, :] = _COLORS["grid"]
        frame[:, -1] = _COLORS["grid"]
        # The agent is a filled disc in its cell.
        row, col = divmod(self.s, self.ncol)
        ys, xs = np.ogrid[:size, :size]
        centre = (size - 1) / 2
        disc = (ys - centre) ** 2 + (xs - centre) ** 2 <= (size * 0.3) ** 2
        cell = frame[row * size : (row + 1) * size, col * size : (col + 1) * size]
        cell[disc] = _COLORS["agent"]
        return frame

    def _show(self, frame: np.ndarray) -> None:
        try:
            import pygame
        except ImportError as error:
            raise ImportError(
                "CliffWalking4x12-v0 human rendering needs pygame: pip install 'gymnasium[classic-control]'"
            ) from error
        if self._window is None:
            # Only the display: a full pygame.init() would also open the audio device.
            pygame.display.init()
            pygame.display.set_caption("CliffWalking4x12-v0")
            self._window = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            self._clock = pygame.time.Clock()
        surface = pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2)))
        self._window.blit(surface, (0, 0))
        pygame.event.pump()
        pygame.display.update()
        self._clock.tick(self.metadata["render_fps"])

    def close(self):
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None
