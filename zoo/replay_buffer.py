"""Replay buffers: preallocated numpy rings, sampled with one vectorised gather.

ReplayBuffer stores whole transitions. FrameReplayBuffer, for stacked uint8 frames, keeps one
frame per env step and rebuilds stacks when sampling: stacked observations overlap (k - 1 of
the k frames of s' are in s), so 100k transitions of 4x84x84 take 0.7 GB instead of the
5.6 GB of storing s and s' whole.

`terminated` and `truncated` are stored apart: a transition cut by a time limit still
bootstraps from its next state (the episode did not really end), a terminal one does not.
The next observation is the real one returned by `step` (not the reset one).
"""

from __future__ import annotations

import numpy as np
import torch

from zoo.contracts import Batch
from zoo.errors import ZooError
from zoo.files import non_finite_array


def check_buffer_memory(nbytes: int) -> None:
    """Refuse, before allocating, a buffer larger than a replay file zoo would read back
    (ZOO_MAX_REPLAY_MB, 16 GiB by default): numpy would fail late or the OS kill the run."""
    from zoo.files import max_replay_bytes

    if nbytes > max_replay_bytes():
        raise ZooError(f"buffer_size asks for a {nbytes / 2**30:.1f} GiB replay buffer, more than the "
                       f"{max_replay_bytes() / 2**30:.0f} GiB limit (ZOO_MAX_REPLAY_MB); lower buffer_size.")


class ReplayBuffer:
    def __init__(self, capacity: int, observation_shape: tuple[int, ...], action_shape: tuple[int, ...],
                 observation_dtype=np.float32, action_dtype=np.int64, seed: int | None = None):
        self.capacity = int(capacity)
        observation_bytes = int(np.prod(observation_shape, dtype=np.float64)) * np.dtype(observation_dtype).itemsize
        action_bytes = int(np.prod(action_shape, dtype=np.float64)) * np.dtype(action_dtype).itemsize
        check_buffer_memory(self.capacity * (2 * observation_bytes + action_bytes + 12))
        self.observations = np.zeros((self.capacity, *observation_shape), dtype=observation_dtype)
        self.next_observations = np.zeros((self.capacity, *observation_shape), dtype=observation_dtype)
        self.actions = np.zeros((self.capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.truncated = np.zeros(self.capacity, dtype=np.float32)
        self.position = 0  # where the next transition goes
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, observation, action, reward: float, next_observation, terminated: bool, truncated: bool) -> None:
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.terminated[i] = terminated
        self.truncated[i] = truncated
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        indices = self.rng.integers(0, self.size, size=batch_size)
        # from_numpy shares the gathered arrays' memory: no second copy.
        return Batch(
            observations=torch.from_numpy(self.observations[indices]),
            actions=torch.from_numpy(self.actions[indices]),
            rewards=torch.from_numpy(self.rewards[indices]),
            next_observations=torch.from_numpy(self.next_observations[indices]),
            terminated=torch.from_numpy(self.terminated[indices]),
        )

    def learned_from(self) -> tuple[np.ndarray, ...]:
        """The env's numbers held (rewards and observations), for naming an env that returned
        NaN when an update diverges (zoo.loops.monitor.check_finite)."""
        return self.rewards[:self.size], self.observations[:self.size], self.next_observations[:self.size]

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The filled part, oldest first, for saving with a checkpoint (resume)."""
        order = np.arange(self.size) if self.size < self.capacity else np.roll(np.arange(self.capacity), -self.position)
        return {
            "observations": self.observations[order], "actions": self.actions[order],
            "rewards": self.rewards[order], "next_observations": self.next_observations[order],
            "terminated": self.terminated[order], "truncated": self.truncated[order],
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Refill from `state_arrays` of a buffer of the same shapes; the newest `capacity` are kept."""
        names = ("observations", "actions", "rewards", "next_observations", "terminated", "truncated")
        if set(arrays) != set(names):
            raise ZooError("The saved replay buffer does not hold this buffer's arrays.")
        lengths = {name: len(arrays[name]) if arrays[name].ndim else -1 for name in names}
        if len(set(lengths.values())) != 1:
            raise ZooError(f"The saved replay buffer's arrays disagree in length ({lengths}); it is corrupt.")
        if (name := non_finite_array(arrays)) is not None:
            raise ZooError(f"The saved replay buffer's {name} hold NaN or infinite values; it is corrupt.")
        n = len(arrays["rewards"])
        keep = slice(max(0, n - self.capacity), n)
        for name in names:
            target = getattr(self, name)
            if arrays[name].shape[1:] != target.shape[1:]:
                raise ZooError(f"The saved replay buffer's {name} have shape {arrays[name].shape[1:]}, "
                               f"this agent's {target.shape[1:]}.")
            kept = arrays[name][keep]
            target[: len(kept)] = kept
        self.size = min(n, self.capacity)
        self.position = self.size % self.capacity


class FrameReplayBuffer:
    """Replay for stacked uint8 frames that stores each env frame once.

    Slot i holds one frame (the newest channels of an observation) and, when the env stepped
    from it, that step's action, reward and `terminated`. A transition is slot i -> slot i + 1;
    its stacks are rebuilt from the `stack` slots ending there, with frames from before the
    episode's first slot replaced by that first frame (as FrameStackObservation pads at reset).
    The last frame of each episode takes a slot of its own, so `capacity` counts frames.
    """

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], frame_channels: int,
                 seed: int | None = None):
        channels, height, width = observation_shape
        if channels % frame_channels:
            raise ValueError(f"{channels} channels are not a stack of {frame_channels}-channel frames")
        self.capacity = int(capacity)
        check_buffer_memory(self.capacity * (frame_channels * height * width + 30))
        self.stack = channels // frame_channels
        self.frame_channels = frame_channels
        self.frames = np.zeros((self.capacity, frame_channels, height, width), dtype=np.uint8)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.has_next = np.zeros(self.capacity, dtype=bool)  # slot i + 1 is the step's next frame
        self.episode_start = np.zeros(self.capacity, dtype=np.int64)  # absolute index of the episode's first slot
        self.total = 0  # slots ever written; slot of absolute index j is j % capacity
        # Absolute index below which no frame is held: 0, or where a smaller saved ring that a
        # resumed run loaded began (load_state_arrays); the ring's own window is the other bound.
        self.floor = 0
        self.episode_open = False
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return int(self.has_next[: min(self.total, self.capacity)].sum())

    def _write(self, frame: np.ndarray, start: int) -> int:
        index = self.total
        slot = index % self.capacity
        self.frames[slot] = frame
        self.has_next[slot] = False
        self.episode_start[slot] = start
        self.total += 1
        return index

    def add(self, observation, action, reward, next_observation, terminated, truncated) -> None:
        newest = -self.frame_channels
        if not self.episode_open:
            self.current = self._write(np.asarray(observation)[newest:], start=self.total)
            self.start = self.current
            self.episode_open = True
        slot = self.current % self.capacity
        self.actions[slot], self.rewards[slot], self.terminated[slot] = action, reward, float(terminated)
        self.current = self._write(np.asarray(next_observation)[newest:], start=self.start)
        self.has_next[slot] = True
        if terminated or truncated:
            self.episode_open = False

    def _stacks(self, last: np.ndarray) -> np.ndarray:
        """[B, stack * C, H, W] ending at absolute indices `last`, padded with the episode's first frame."""
        starts = self.episode_start[last % self.capacity]
        offsets = np.arange(-(self.stack - 1), 1)
        indices = np.maximum(last[:, None] + offsets, starts[:, None]) % self.capacity
        frames = self.frames[indices]  # [B, stack, C, H, W]
        return frames.reshape(len(last), -1, *frames.shape[3:])

    def sample(self, batch_size: int) -> Batch:
        oldest = max(self.floor, self.total - self.capacity)
        if self.total - oldest < 2 or not self.has_next.any():
            raise ValueError("the buffer holds no transition yet")
        chosen = np.empty(0, dtype=np.int64)
        for _ in range(1000):  # rejection: a few percent of slots are episode ends
            if len(chosen) >= batch_size:
                break
            candidates = self.rng.integers(oldest, self.total - 1, size=2 * batch_size)
            slots = candidates % self.capacity
            # a stack whose first frame has been overwritten cannot be rebuilt
            ok = self.has_next[slots] & (np.maximum(candidates - self.stack + 1, self.episode_start[slots]) >= oldest)
            chosen = np.concatenate([chosen, candidates[ok]])
        else:
            raise ValueError("the buffer holds too few complete transitions to sample")
        chosen = chosen[:batch_size]
        slots = chosen % self.capacity
        return Batch(
            observations=torch.from_numpy(self._stacks(chosen)),
            actions=torch.from_numpy(self.actions[slots]),
            rewards=torch.from_numpy(self.rewards[slots]),
            next_observations=torch.from_numpy(self._stacks(chosen + 1)),
            terminated=torch.from_numpy(self.terminated[slots]),
        )

    _STATE = ("frames", "actions", "rewards", "terminated", "has_next", "episode_start")

    def learned_from(self) -> tuple[np.ndarray, ...]:
        """The rewards (its uint8 frames are finite by their type), as ReplayBuffer.learned_from."""
        return (self.rewards,)

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything, ring as it stands, and its counters (the floor last: saves before it had four)."""
        counters = np.array([self.total, self.episode_open, getattr(self, "current", 0), getattr(self, "start", 0),
                             self.floor])
        return {**{name: getattr(self, name) for name in self._STATE}, "counters": counters}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Refill from `state_arrays` of a buffer of the same frame shape. Its capacity may differ
        (a run resumed with a larger budget gets a larger buffer, up to buffer_size): the newest
        frames that fit are kept at their absolute indices, and the floor keeps sampling off the
        slots the saved ring never held, until new frames fill them."""
        if set(arrays) != {*self._STATE, "counters"} or arrays["counters"].shape not in ((4,), (5,)) \
                or arrays["frames"].ndim != 4 or len(arrays["frames"]) < 1:
            raise ZooError("The saved frame buffer does not hold this buffer's arrays.")
        saved_capacity = len(arrays["frames"])
        if arrays["frames"].shape[1:] != self.frames.shape[1:]:
            raise ZooError(f"The saved frame buffer's frames have shape {arrays['frames'].shape[1:]}, this agent's "
                           f"{self.frames.shape[1:]}.")
        if any(arrays[name].shape != (saved_capacity,) for name in self._STATE if name != "frames"):
            raise ZooError("The saved frame buffer's arrays disagree in length; it is corrupt.")
        if (name := non_finite_array(arrays)) is not None:
            raise ZooError(f"The saved frame buffer's {name} hold NaN or infinite values; it is corrupt.")
        total, _, current, start, *rest = (int(v) for v in arrays["counters"])
        floor = rest[0] if rest else 0
        starts = arrays["episode_start"]
        if not 0 <= start <= current <= total < 2**62 or not 0 <= floor <= total \
                or (starts.size and (starts.min() < 0 or starts.max() > total)):
            raise ZooError("The saved frame buffer's counters are inconsistent; it is corrupt.")
        # what the saved ring held (its floor, its own window), of which what this ring can hold
        kept = np.arange(max(floor, total - saved_capacity, total - self.capacity), total)
        for name in self._STATE:
            target = getattr(self, name)
            target[...] = 0
            target[kept % self.capacity] = arrays[name][kept % saved_capacity]
        self.total, self.current, self.start = total, current, start
        self.floor = int(kept[0]) if kept.size else total
        self.episode_open = False  # a resumed run resets its env: the stored episode is not continued

    @property
    def nbytes(self) -> int:
        arrays = [getattr(self, name) for name in self._STATE]
        return sum(a.nbytes for a in arrays)
