"""What every deep-RL training loop does around the learning itself: count episodes, evaluate
the deterministic policy every `eval_freq` steps on the evaluation env it is handed, and tell
the callbacks (zoo/callbacks.py: progress bar, logs, best checkpoint, early stop, TensorBoard,
a user's own), any of which may stop training; and every `save_freq` steps keep a checkpoint.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from zoo.callbacks import Callback, Episode, EpisodeLog, Evaluation, EvaluationLog, overrides_on_step
from zoo.contracts import Agent, Metrics, RunSummary, TrainingConfig
from zoo.environments import NON_FINITE_OBSERVATION, shape_misfit
from zoo.errors import ZooError
from zoo.evaluation import EvaluationEnvs, evaluate_in_lockstep
from zoo.files import write_arrays
from zoo.runs import periodic_checkpoint_path, periodic_replay_path


class SavedState(Protocol):
    """What a periodic checkpoint may keep beside the agent (the off-policy loop's replay buffer)."""

    def state_arrays(self) -> dict[str, np.ndarray]: ...


class TrainingDiverged(ZooError):
    """An update returned a non-finite loss: the weights are garbage from here on."""


def check_finite(metrics: Metrics, step: int, env_data: Callable[[], Iterable[np.ndarray]] | None = None) -> None:
    """Stop a run whose update went non-finite, before it saves anything (checkpoints also
    refuse non-finite weights: zoo.checkpoint), naming the number and what to change.
    `env_data`: the rewards and observations the update learned from (the replay buffer's, the
    rollout's), looked at only then: an env that returned NaN or inf is the cause to name, not
    the learning rate (a custom env's bug, or its arguments)."""
    for name, value in metrics.items():
        if not math.isfinite(value):
            from_env = env_data is not None and not all(np.isfinite(array).all() for array in env_data())
            cause = ("The env returned NaN or infinite rewards or observations, which the update learned from: "
                     "check the env (and its arguments); no hyperparameter fixes that." if from_env else
                     "Lower learning_rate or set max_grad_norm.")
            raise TrainingDiverged(
                f"Training diverged at step {step}: the update's {name} is {value}. Nothing was saved over the "
                f"last good checkpoint (best_model.zip, if an evaluation made one). {cause}")


def refuse_non_finite(observations: np.ndarray) -> None:
    """Where acting on the env's observations raised (the agent's NonFiniteObservation, which
    names the algo, or torch's distributions validating their parameters): one error naming the
    env, when the observations hold NaN or inf. Called on that failure only."""
    if not np.isfinite(np.asarray(observations, dtype=np.float64)).all():
        raise ZooError(NON_FINITE_OBSERVATION)


def refuse_misshapen(space: gym.Space, observation: Any) -> None:
    """Where storing a step failed: one error when the env's observation does not fit its own
    space's shape (checked then only; the first reset is checked before every run)."""
    misfit = shape_misfit(space, observation)
    if misfit:
        raise ZooError(f"The env's step returned {misfit}: its observations must fit it.")


class TrainingMonitor:
    """`run_dir` (None: no periodic checkpoints) is where save_freq's checkpoints go, with
    `replay` (a replay buffer the run keeps) beside them."""

    def __init__(self, agent: Agent, config: TrainingConfig, eval_envs: EvaluationEnvs | None,
                 callbacks: Sequence[Callback], *, seed: int | None, start_step: int = 0,
                 run_dir: Path | None = None, replay: SavedState | None = None):
        self.agent, self.config, self.callbacks = agent, config, list(callbacks)
        self.eval_envs = eval_envs if config.eval_freq > 0 else None
        # Seeded once, apart from training's stream; every evaluation then plays fresh episodes.
        eval_seed = None if seed is None else seed + 1_000
        if isinstance(self.eval_envs, gym.vector.VectorEnv):
            self.eval_envs.reset(seed=eval_seed)  # sub-env i gets eval_seed + i (Gymnasium's rule)
        elif self.eval_envs is not None:
            for index, env in enumerate(self.eval_envs):
                env.reset(seed=None if eval_seed is None else eval_seed + index)
        self.next_evaluation = config.eval_freq
        self.start_step = start_step  # > 0 when resuming
        self.run_dir, self.replay = run_dir, replay
        self.saved_replay: Path | None = None
        # The first multiple of save_freq past where the run starts (inf: no periodic checkpoints).
        saves = config.save_freq > 0 and run_dir is not None
        self.next_checkpoint = (start_step // config.save_freq + 1) * config.save_freq if saves else math.inf
        self.step_callbacks = [callback for callback in self.callbacks if overrides_on_step(callback)]
        self.recent_returns: deque[float] = deque(maxlen=100)
        self.episodes = 0
        self.started = time.perf_counter()
        for callback in self.callbacks:
            callback.on_training_start(agent, start_step, config.n_timesteps)

    @property
    def watches_steps(self) -> bool:
        """Whether a callback wants every step (the loops skip the call otherwise)."""
        return bool(self.step_callbacks)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def step_done(self, step: int) -> bool:
        """True: a callback asked to stop."""
        return any([callback.on_step(step) for callback in self.step_callbacks])

    def episode_done(self, step: int, episode_return: float, length: int, metrics: Metrics | None = None) -> bool:
        """`metrics`: what the last update returned. True: a callback asked to stop."""
        self.episodes += 1
        self.recent_returns.append(episode_return)
        elapsed = self.elapsed()
        episode = Episode(self.episodes, episode_return, length, metrics or {}, tuple(self.recent_returns), elapsed,
                          (step - self.start_step) / max(elapsed, 1e-9))
        # every callback hears of it, even after one has asked to stop
        return any([callback.on_episode_end(step, episode) for callback in self.callbacks])

    def evaluate_if_due(self, step: int) -> bool:
        """Evaluate when `step` has passed the next multiple of eval_freq. True: stop training."""
        if self.eval_envs is None or step < self.next_evaluation:
            return False
        while self.next_evaluation <= step:
            self.next_evaluation += self.config.eval_freq
        self.agent.num_timesteps = step  # a checkpoint saved by a callback (best_model.zip) records where it stands
        result = evaluate_in_lockstep(self.agent, self.eval_envs, self.config.n_eval_episodes)
        evaluation = Evaluation(result.mean, result.std, float(np.mean(result.lengths)), tuple(result.returns),
                                self.elapsed())
        return any([callback.on_evaluation(step, evaluation) for callback in self.callbacks])

    def checkpoint_if_due(self, step: int) -> None:
        """At the first step at or past each multiple of save_freq: the agent as
        RUN_DIR/checkpoints/model_<step>_steps.zip, the run's logs synced to disk first (as for
        best_model.zip), and the replay buffer beside it, only the latest one (a buffer may be
        gigabytes; each periodic model is kept, as SB3's CheckpointCallback keeps them)."""
        if step < self.next_checkpoint:
            return
        assert self.run_dir is not None  # next_checkpoint is finite only with a run_dir
        while self.next_checkpoint <= step:
            self.next_checkpoint += self.config.save_freq
        for callback in self.callbacks:
            if isinstance(callback, (EpisodeLog, EvaluationLog)):
                callback.log.sync()
        # The buffer first and the previous one removed last: killed anywhere in between, the
        # latest model still has its buffer beside it.
        replay_path = None
        if self.replay is not None:
            replay_path = write_arrays(periodic_replay_path(self.run_dir, step), self.replay.state_arrays())
        self.agent.num_timesteps = step  # where a resume from this checkpoint goes on from
        self.agent.save(periodic_checkpoint_path(self.run_dir, step))  # folder made, atomically written
        if self.saved_replay is not None and self.saved_replay != replay_path:
            self.saved_replay.unlink(missing_ok=True)
        self.saved_replay = replay_path

    def close(self, step: int) -> RunSummary:
        for callback in self.callbacks:
            callback.on_training_end(step)
        if isinstance(self.eval_envs, gym.vector.VectorEnv):
            self.eval_envs.close()
        elif self.eval_envs is not None:
            for env in self.eval_envs:
                env.close()
        elapsed = self.elapsed()
        summary: RunSummary = {
            "steps": step,
            "episodes": self.episodes,
            "seconds": elapsed,
            "steps_per_second": (step - self.start_step) / max(elapsed, 1e-9),
            "recent_mean_return": float(np.mean(self.recent_returns)) if self.recent_returns else float("nan"),
            "best_eval_return": None,
            "solved_at": None,
        }
        for callback in self.callbacks:
            summary.update(callback.summary())
        return summary
