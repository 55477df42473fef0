"""The bandit loop: pull, learn, and record the cumulative regret of every pull."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from zoo.contracts import BanditAgent, RunSummary
from zoo.errors import ZooError
from zoo.interrupt import StopFlag
from zoo.runs import PROGRESS_NAME, CsvLog


@dataclass
class BanditRun:
    actions: np.ndarray
    rewards: np.ndarray
    cumulative_regret: np.ndarray  # after each pull: sum of (best_prob - pulled arm's prob)

    @property
    def steps(self) -> int:
        return len(self.actions)


def check_bandit_info(algo: str, info: dict) -> None:
    """Refuse an env whose reset info cannot measure regret."""
    if "best_prob" not in info:
        raise ZooError(
            f"{algo} needs a bandit env whose info carries 'prob' and "
            "'best_prob' (the pulled arm's and the best arm's value) to measure regret, e.g. BernoulliBandit-v0."
        )


def run_bandit(agent: BanditAgent, env: gym.Env, n_steps: int, *, seed: int | None = None,
               stop: StopFlag | None = None) -> BanditRun:
    """Play `n_steps` pulls. The env's info must carry `prob` and `best_prob` (regret needs them).

    When an episode ends the env is reset without a seed, which keeps the same bandit.
    """
    actions = np.zeros(n_steps, dtype=np.int64)
    rewards = np.zeros(n_steps)
    regrets = np.zeros(n_steps)
    observation, info = env.reset(seed=seed)
    check_bandit_info(getattr(agent, "algo", type(agent).__name__), info)  # duck-typed agents too
    step = 0
    for step in range(n_steps):
        if stop is not None and stop.requested:
            break
        action = agent.take_action(observation)
        observation, reward, terminated, truncated, info = env.step(action)
        agent.update(int(action), float(reward))
        actions[step], rewards[step] = action, reward
        regrets[step] = info["best_prob"] - info["prob"]
        if terminated or truncated:
            observation, _ = env.reset()
    else:
        step = n_steps
    return BanditRun(actions[:step], rewards[:step], np.cumsum(regrets[:step]))


def bandit_loop(agent: BanditAgent, env: gym.Env, n_steps: int, *, seed: int | None, run_dir: Path,
                stop: StopFlag | None = None) -> RunSummary:
    run = run_bandit(agent, env, n_steps, seed=seed, stop=stop)
    with CsvLog(run_dir / PROGRESS_NAME, ["step", "action", "reward", "cumulative_regret"]) as log:
        log.write_many([
            {"step": i + 1, "action": int(a), "reward": float(r), "cumulative_regret": float(g)}
            for i, (a, r, g) in enumerate(zip(run.actions, run.rewards, run.cumulative_regret))
        ])
    return {
        "steps": run.steps,
        "final_regret": float(run.cumulative_regret[-1]) if run.steps else 0.0,
        "total_reward": float(run.rewards.sum()),
    }
