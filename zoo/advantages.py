"""Returns and advantages of on-policy rollouts, as pure numpy functions over [T, N] arrays
(T steps of N parallel envs). An episode boundary is `terminated or truncated`; only a
termination means "no future value": a truncated episode is bootstrapped from the value of
the observation it was cut at.
"""

from __future__ import annotations

import numpy as np


def discounted_returns(rewards: np.ndarray, episode_ends: np.ndarray, gamma: float) -> np.ndarray:
    """Monte-Carlo returns G_t = r_t + gamma * G_{t+1}, computed backwards, restarting at
    every episode end (REINFORCE: no critic, so nothing is bootstrapped)."""
    returns = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running * (1.0 - episode_ends[t])
        returns[t] = running
    return returns


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, terminated: np.ndarray,
        truncated: np.ndarray, gamma: float, gae_lambda: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation (Schulman et al. 2016). Returns (advantages, value targets).

    delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)
    A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}

    `next_values[t]` is V of the observation that followed step t: for a truncated step, the
    observation it was cut at. lambda = 0 is the one-step TD advantage of the seed notes;
    lambda = 1 the bootstrapped n-step return minus V.
    """
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    advantages = np.zeros_like(deltas, dtype=np.float64)
    running = np.zeros(deltas.shape[1:], dtype=np.float64)
    episode_ends = np.maximum(terminated, truncated)
    for t in reversed(range(len(deltas))):
        running = deltas[t] + gamma * gae_lambda * (1.0 - episode_ends[t]) * running
        advantages[t] = running
    return advantages, advantages + values
