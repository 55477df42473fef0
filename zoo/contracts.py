"""What agents and training loops promise each other: the family protocols, the config bases
and the data they exchange.

A leaf module: it imports no loop, no agent and no file format, so both sides can depend on
it and neither on the other. Four families, four loops (zoo/loops/):

    BanditAgent      pull an arm, learn from (arm, reward)                     loops/bandit.py
    PlanningAgent    solve a known model P[s][a] once                           loops/planning.py
    OffPolicyAgent   act, store transitions, learn from replayed Batches        loops/off_policy.py
    OnPolicyAgent    act on N envs at once, learn from each Rollout once        loops/on_policy.py

Every agent also honours `Agent` (act, save, load) for evaluation, enjoy and the Hub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import gymnasium as gym
import numpy as np
import torch

Metrics = dict[str, float]  # what an update reports: losses, alpha, entropy... (logs and TensorBoard)
# What a loop reports when it ends: steps, episodes, seconds, returns; None where there is none.
RunSummary = dict[str, float | None]
Action = int | np.ndarray  # an env action: an index (Discrete) or an array (Box, MultiDiscrete...)
# P[s][a] = [(probability, next state, reward, terminated)], Gymnasium's toy-text model
TransitionTable = Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]]


# ---- config bases ----------------------------------------------------------------------


MAX_EVAL_ENVS = 256  # envs played in lockstep at most (n_eval_envs, evaluate's and enjoy's --n-envs)


@dataclass
class TrainingConfig:
    """The fields every deep-RL loop reads; each algorithm's config adds its own."""

    n_timesteps: int = 100_000  # env steps of training (summed over parallel envs)
    gamma: float = 0.99  # discount factor
    eval_freq: int = 10_000  # env steps between evaluations (0: none)
    n_eval_episodes: int = 10  # episodes per evaluation
    # Envs an evaluation plays its episodes on at once, in lockstep (RL Zoo's --n-eval-envs; SB3
    # deals the episodes to them alike). 0: one per episode, up to 32: the fastest here.
    n_eval_envs: int = 0
    # Stop once an evaluation's mean return reaches this; the policy that reached it is the
    # final one. None: always use the whole budget.
    stop_at_return: float | None = None
    # Evaluations in a row that must reach stop_at_return: 2 or more keep one lucky evaluation
    # of an early, fragile policy from ending training (SB3's callback stops at the first).
    stop_streak: int = 1
    n_threads: int = 1  # torch's and numpy's BLAS threads (zoo/threads.py); one is fastest for small networks here
    # Env steps between checkpoints kept in RUN_DIR/checkpoints/ (0: none), what a run killed
    # outright (SIGKILL, out of memory, a power cut: no final save) resumes from. SB3's
    # CheckpointCallback, RL Zoo's --save-freq.
    save_freq: int = 0

    def __post_init__(self) -> None:
        for name in ("n_timesteps", "n_eval_episodes", "stop_streak"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_freq", "n_eval_envs", "n_threads", "save_freq"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_eval_envs > MAX_EVAL_ENVS:  # each a live env (an Atari one holds its emulator)
            raise ValueError(f"n_eval_envs must be at most {MAX_EVAL_ENVS}, got {self.n_eval_envs}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.stop_at_return is not None and self.eval_freq == 0:
            raise ValueError("stop_at_return needs evaluations: set eval_freq > 0, or stop_at_return=null to train "
                             "the whole budget")


# SB3's train_freq: every N env steps, or (N, "step") / (N, "episode"): YAML's [1, episode]
TrainFrequency = int | tuple[int, Literal["step", "episode"]]


@dataclass
class OffPolicyConfig(TrainingConfig):
    buffer_size: int = 1_000_000  # replay capacity, in transitions
    learning_starts: int = 100  # random-action steps before the first update
    batch_size: int = 32  # transitions per update
    train_freq: TrainFrequency = 4  # env steps (or [N, episode]: episode ends) between training phases
    gradient_steps: int = 1  # updates per training phase; -1: as many as env steps since the last (SB3's)
    save_replay_buffer: bool = False  # keep replay_buffer.npz in the run, for `zoo train --resume`

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("buffer_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.train_every[0] < 1:
            raise ValueError(f"train_freq must be at least 1, got {self.train_freq}")
        if self.learning_starts < 0:
            raise ValueError(f"learning_starts must be >= 0, got {self.learning_starts}")
        if self.gradient_steps < -1:
            raise ValueError(f"gradient_steps must be >= 0, or -1 (as many as env steps since the last "
                             f"training phase), got {self.gradient_steps}")

    @property
    def train_every(self) -> tuple[int, str]:
        """train_freq as (N, unit): (4, "step") for 4, (1, "episode") for [1, episode]."""
        if isinstance(self.train_freq, int):
            return self.train_freq, "step"
        return self.train_freq[0], self.train_freq[1]


@dataclass
class OnPolicyConfig(TrainingConfig):
    n_envs: int = 1  # envs stepped together
    n_steps: int = 5  # steps per env per rollout; 0: one whole episode (needs n_envs: 1)
    vectorization: Literal["sync", "async"] = "sync"  # async: one subprocess per env
    use_sde: bool = False  # Box actions: gSDE exploration (zoo/policies.py) instead of per-step noise
    sde_sample_freq: int = -1  # gSDE: draw the noise matrices every N steps of a rollout (-1: once per rollout)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_envs < 1 or self.n_steps < 0:
            raise ValueError(f"n_envs must be >= 1 and n_steps >= 0, got {self.n_envs} and {self.n_steps}")
        if self.n_steps == 0 and self.n_envs != 1:
            raise ValueError("n_steps: 0 (whole episodes) needs n_envs: 1")
        check_sde_sample_freq(self.sde_sample_freq)


def check_sde_sample_freq(sde_sample_freq: int) -> None:
    """gSDE's redraw period (on-policy agents and SAC): -1, once per rollout or collection, or N >= 1."""
    if sde_sample_freq == 0 or sde_sample_freq < -1:
        raise ValueError(f"sde_sample_freq must be -1 (once per rollout) or >= 1, got {sde_sample_freq}")


# ---- data exchanged --------------------------------------------------------------------


@dataclass
class Batch:
    """Replayed transitions, as tensors (on the CPU until the agent moves them)."""

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor  # [B]
    next_observations: torch.Tensor
    terminated: torch.Tensor  # [B] float: 1 where the episode truly ended (a time limit is not an end)

    def to(self, device: torch.device) -> Batch:
        """The batch on the agent's device (buffers gather on the CPU; frames travel as uint8)."""
        if device.type == "cpu":
            return self
        return Batch(*(tensor.to(device, non_blocking=True) for tensor in (
            self.observations, self.actions, self.rewards, self.next_observations, self.terminated)))


@dataclass
class Rollout:
    """T steps of N envs, collected with the current policy: [T, N, ...] arrays."""

    observations: np.ndarray  # [T, N, *obs]
    actions: np.ndarray  # [T, N, *act], as sampled (before clipping to the env's bounds)
    rewards: np.ndarray  # [T, N]
    terminated: np.ndarray  # [T, N] float
    truncated: np.ndarray  # [T, N] float
    next_observations: np.ndarray  # [T, N, *obs]: what followed each step (an episode's last obs where it ended)
    log_probs: np.ndarray | None = None  # [T, N] log pi(a|s) at collection time, for agents that ask
    values: np.ndarray | None = None  # [T, N] V(s) at collection time, for agents that ask

    def learned_from(self) -> tuple[np.ndarray, ...]:
        """The env's numbers in it, for naming an env that returned NaN when an update diverges."""
        return self.rewards, self.observations, self.next_observations


class ActionBatch(NamedTuple):
    """What an on-policy agent decided for N observations at once."""

    actions: np.ndarray  # as sampled: what the agent learns from
    env_actions: np.ndarray  # what the envs receive (ints, or samples clipped to the bounds)
    log_probs: np.ndarray | None = None
    values: np.ndarray | None = None


class ReplaySpec(NamedTuple):
    """Shapes and dtypes of what a replay buffer stores for an agent."""

    observation_shape: tuple[int, ...]
    observation_dtype: type
    action_shape: tuple[int, ...]
    action_dtype: type


class ReplayStore(Protocol):
    """A replay buffer as the off-policy loop uses it (zoo/replay_buffer.py has two)."""

    def add(self, observation: object, action: Action, reward: float, next_observation: object, terminated: bool,
            truncated: bool) -> None: ...

    def sample(self, batch_size: int) -> Batch: ...

    def state_arrays(self) -> dict[str, np.ndarray]: ...

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None: ...

    def learned_from(self) -> tuple[np.ndarray, ...]: ...


# ---- the protocols ---------------------------------------------------------------------


class Agent(Protocol):
    """What every agent offers: act, save, load. Evaluation, enjoy and the Hub need no more."""

    algo: str  # the name the user typed (an alias such as double_dqn included)
    observation_space: gym.Space
    action_space: gym.Space
    seed: int | None
    num_timesteps: int  # env steps trained so far (the loops set it; resume goes on from it)

    def take_action(self, observation: object, deterministic: bool = False) -> Action: ...

    def save(self, path: str | Path) -> Path: ...

    def load(self, path: str | Path) -> Agent: ...


class BanditAgent(Agent, Protocol):
    def update(self, action: int, reward: float) -> Metrics: ...


class PlanningAgent(Agent, Protocol):
    policy: np.ndarray  # the greedy action of every state
    values: np.ndarray  # V(s) of every state
    history: list[Metrics]  # one row per iteration of the last solve

    def update(self, table: TransitionTable) -> Metrics:
        """Solve the model P[s][a] = [(prob, next_state, reward, terminated)]."""
        ...


class OffPolicyAgent(Agent, Protocol):
    config: OffPolicyConfig

    def random_actions(self, n: int) -> np.ndarray:
        """n uniformly random actions at once (the warm-up steps; Box.sample costs ~30 us each)."""
        ...

    def explores_at_warmup(self) -> bool:
        """Whether the warm-up steps take the agent's exploring action instead of random ones
        (SAC's use_sde_at_warmup)."""
        ...

    def make_replay_buffer(self, capacity: int, seed: int | None) -> ReplayStore: ...

    def record_observation(self, observation: np.ndarray) -> None:
        """Sees every observation of training (running statistics); most agents ignore it."""
        ...

    def on_step(self, num_timesteps: int) -> None:
        """After env step `num_timesteps`: exploration schedules, target updates."""
        ...

    def on_episode_end(self) -> None:
        """An episode of the training env ended (e.g. Ornstein-Uhlenbeck noise restarts)."""
        ...

    def on_collection_end(self) -> None:
        """A collection of train_freq steps or episodes ended, its updates (if any) done: SB3's
        collect_rollouts returns (gSDE draws its noise again for the next)."""
        ...

    def update(self, batch: Batch) -> Metrics: ...


class OnPolicyAgent(Agent, Protocol):
    config: OnPolicyConfig

    def act_batch(self, observations: np.ndarray) -> ActionBatch:
        """Sampled actions for N observations (one per env), with what the agent will learn from."""
        ...

    def update(self, rollout: Rollout) -> Metrics: ...
