"""The small base that gives every agent its spaces, seeding and checkpoints.

    action = agent.take_action(observation, deterministic=False)
    metrics = agent.update(...)   # what it learns from depends on the family (zoo.contracts)
    agent.save("model.zip"); agent.load("model.zip")

The protocols (`Agent` and one per family) are in zoo/contracts.py. A training loop decides
when to act and when to learn, so an agent only holds what it learns and how.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from zoo.contracts import Agent
from zoo.environments import array_holds_non_finite
from zoo.errors import NonFiniteObservation, ZooError, brief
from zoo.schedules import ScheduleClock

__all__ = ["Agent", "BaseAgent"]


class BaseAgent:
    """Shared plumbing: spaces, config, seeding and checkpoints. One level deep on purpose.

    A subclass sets `algo`, implements `take_action` and `update`, and lists what it has
    learned in `state_arrays` / `load_state_arrays` (plain numpy arrays: a checkpoint never
    holds pickled objects). An instance's `algo` is the name it was built under, which for
    an alias (double_dqn) is not its class's.
    """

    algo: str  # the class's name for it; an instance built under an alias holds the alias
    uses_torch: ClassVar[bool] = False  # networks that can go on a GPU (zoo.devices)
    prefers_gpu: ClassVar[bool] = False  # networks big enough that `--device auto` gives them a GPU
    # What the agent's lin_<start> schedules read (zoo/schedules.py), for agents that have them;
    # `restore` sets it to the checkpoint's step, and a subclass lists its state_arrays.
    clock: ScheduleClock | None = None

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: Any,
        *,
        algo: str | None = None,
        env_id: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
        env_wrappers: tuple[str, ...] | list[str] = (),
        seed: int | None = None,
        device: Any = "cpu",
    ):
        from zoo.devices import resolve_device

        self.algo = algo or type(self).algo
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.env_wrappers = list(env_wrappers)  # names of zoo.environments.WRAPPERS
        self.seed = seed
        self.np_random = np.random.default_rng(seed)
        self.num_timesteps = 0  # env steps trained so far (set by the training loops; resume goes on from it)
        # A torch.device for torch agents (their networks are moved there), None for numpy ones.
        self.device = resolve_device(device, algo=self.algo, uses_torch=self.uses_torch,
                                     prefers_gpu=self.prefers_gpu)

    @property
    def device_name(self) -> str:
        """Where it computes, for records and reports: 'cpu', 'cuda', 'cuda:1' (numpy agents: cpu)."""
        return "cpu" if self.device is None else str(self.device)

    # -- the protocol --------------------------------------------------------------------

    def take_action(self, observation: Any, deterministic: bool = False) -> Any:
        raise NotImplementedError

    def greedy_actions(self, observations: np.ndarray) -> Any:
        """The deterministic actions for a batch of observations, one per row (evaluation plays
        several episodes at once). One take_action each here; agents with a batched forward
        pass override it."""
        return [self.take_action(observation, deterministic=True) for observation in observations]

    def checked_observation(self, observation: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """One observation as an array of `shape`, or one clear error naming the algo: one of
        another shape, not numbers, holding NaN or inf, or (frames) values the dtype cannot hold,
        whose action would be garbage, silently (DQN's argmax over NaN scores is action 0, DDPG's
        action NaN, a vision agent's frame of floats in [0, 1] all black)."""
        array = self._as_array(observation, dtype, "the observation")
        if array.shape != shape:
            raise ZooError(f"{self.algo}: observation of shape {array.shape}, this agent takes {shape}.")
        if array_holds_non_finite(array):
            raise NonFiniteObservation(f"{self.algo} cannot act on an observation holding NaN or inf.")
        return array

    def observation_batch(self, observations: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """`observations` as one array of rows of `shape`, or one clear error naming the algo (as
        `checked_observation`)."""
        batch = self._as_array(observations, dtype, "the observations")
        if batch.shape[1:] != shape:
            raise ZooError(f"{self.algo}: observations of shape {batch.shape[1:]}, this agent takes {shape}.")
        if array_holds_non_finite(batch):
            raise NonFiniteObservation(f"{self.algo} cannot act on observations holding NaN or inf.")
        return batch

    def _as_array(self, observation: Any, dtype: Any, what: str) -> np.ndarray:
        """`observation` as an array of `dtype`: floats as numpy casts them; whole numbers (a vision
        agent's uint8 frames) only where the cast keeps every value (numpy wraps 300 to 44 and
        truncates 0.5 to 0, silently)."""
        try:
            if dtype is np.float32 or np.dtype(dtype).kind == "f":
                return np.asarray(observation, dtype=dtype)
            array = np.asarray(observation)
            if array.dtype == dtype:
                return array
            with np.errstate(invalid="ignore"):  # NaN's cast: refused below, not warned about
                cast = array.astype(dtype)
            if array.dtype.kind not in "biuf" or not np.array_equal(cast, array):
                limits = np.iinfo(dtype)
                raise ZooError(f"{self.algo}: {what} holds values a {np.dtype(dtype).name} array cannot (whole "
                               f"numbers from {limits.min} to {limits.max}, as its frames are).")
            return cast
        except (ValueError, TypeError, OverflowError):
            raise ZooError(f"{self.algo}: {what} {brief(observation)} is not an array of numbers.") from None

    # Hooks of the off-policy loop, which most agents do not need (zoo.contracts.OffPolicyAgent).

    def record_observation(self, observation: np.ndarray) -> None:
        pass

    def on_step(self, num_timesteps: int) -> None:
        pass

    def on_episode_end(self) -> None:
        pass

    def on_collection_end(self) -> None:
        pass

    def explores_at_warmup(self) -> bool:
        return False

    def save(self, path: str | Path) -> Path:
        from zoo.checkpoint import write_checkpoint

        return write_checkpoint(path, self.checkpoint_metadata(), self.state_arrays())

    def load(self, path: str | Path) -> BaseAgent:
        """Load learned state saved by an agent of the same algo, env and spaces."""
        from zoo.checkpoint import read_checkpoint

        metadata, arrays = read_checkpoint(path)
        return self.restore(metadata, arrays, path)

    def restore(self, metadata: dict[str, Any], arrays: dict[str, np.ndarray], path: str | Path) -> BaseAgent:
        """`load` for a checkpoint already read (`path` names it in errors)."""
        from zoo.checkpoint import check_compatible

        check_compatible(metadata, path, algo=self.algo, env_id=self.env_id,
                         observation_space=self.observation_space, action_space=self.action_space)
        try:
            self.load_state_arrays(arrays)
        except ZooError as error:  # "The checkpoint's ...": say which file the user gave
            raise ZooError(f"{path}: {error}") from None
        self.num_timesteps = int(metadata.get("num_timesteps", 0))
        if self.clock is not None:  # another budget: the schedules go on from where they stood to 0 at the new end
            self.clock.resume(self.num_timesteps, metadata)
        return self

    # -- what a subclass provides --------------------------------------------------------

    def state_arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------

    def checkpoint_metadata(self) -> dict[str, Any]:
        from zoo.checkpoint import space_to_dict

        return {
            "algo": self.algo,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "env_wrappers": self.env_wrappers,
            "seed": self.seed,
            "observation_space": space_to_dict(self.observation_space),
            "action_space": space_to_dict(self.action_space),
            "config": dataclasses.asdict(self.config),
            "num_timesteps": int(self.num_timesteps),
        }

    @staticmethod
    def _take_arrays(arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Check that `arrays` holds exactly the names, shapes and dtypes of `expected`."""
        missing = sorted(set(expected) - set(arrays))
        extra = sorted(set(arrays) - set(expected))
        if missing or extra:
            raise ZooError(
                f"Checkpoint arrays do not match this agent (missing: {missing or 'none'}, "
                f"unexpected: {extra or 'none'}); it was saved by a different agent or version."
            )
        for name, reference in expected.items():
            if arrays[name].shape != reference.shape:
                raise ZooError(
                    f"Checkpoint array '{name}' has shape {arrays[name].shape}, this agent needs "
                    f"{reference.shape}; it was saved for different spaces or hyperparameters."
                )
        return {name: arrays[name].astype(reference.dtype, copy=True) for name, reference in expected.items()}
