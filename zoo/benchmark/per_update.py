"""`zoo benchmark ALGO ENV --per-update N`: time per gradient update, ours against SB3's, in
one process.

Whole runs timed minutes apart are not comparable on a shared machine (this VM's speed moved by
up to 1.6x from minute to minute on 2026-11-26, so the same update measured 4.7 to 8.4 ms in
separate runs). Here both sides hold the same config and equal replay buffers (the same random
transitions), and N blocks of BLOCK_UPDATES updates alternate, ours then SB3's, so a drift
slows both alike. Before them each side runs WARMUP_UPDATES untimed updates, so that the timed
ones start from a state like a training run's: ours leave the ReLU units dead on a batch out
of the backward products (zoo/hand_mlp.py), and DDPG's and TD3's networks have half of their
second layers' units dead by the 1000th update, not at the first. An update is what each
training loop does per gradient step: ours `agent.update(buffer.sample(batch_size))`, SB3's
`model.train(gradient_steps=...)` (its own sampling included). Each side runs on its own
thread count (ours: the config's `n_threads`; SB3: torch's default or `--sb3-threads`), set
between blocks, outside the timing. The report gives the median time per update of each side
and the median of the block-by-block ratios. Off-policy algos only: theirs is the update a
run repeats.

One thing is shared that a separate SB3 process would not have: zoo.allocator.keep_freed_memory
(glibc keeps freed activations instead of returning them to the kernel), set for the whole
process by our loop; it can only make SB3's side faster than in its own process.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from zoo.build import build_agent, describe_env
from zoo.config import resolve_hyperparams
from zoo.contracts import OffPolicyAgent
from zoo.errors import ZooError
from zoo.registry import get_algo

BLOCK_UPDATES = 20  # updates per timed block: ~0.1-0.3 s each on these networks
# untimed updates of each side first: DDPG's [400, 300] networks went from 3-6% of their
# second layers' units dead at the first update to 51-57% at the 1000th (measured 2026-11-27)
WARMUP_UPDATES = 1000
FILL_TRANSITIONS = 5_000  # random transitions in both buffers (batches drawn from them)


@dataclass
class PerUpdateReport:
    algo: str
    env_id: str
    batch_size: int
    hyperparams: dict[str, Any]
    warmup_updates: int = WARMUP_UPDATES
    ours_ms: list[float] = field(default_factory=list)  # each block's mean time per update
    sb3_ms: list[float] = field(default_factory=list)
    threads: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ratio(self) -> float | None:
        """Median over blocks of ours / SB3's (the blocks next to each other in time)."""
        if not self.sb3_ms:
            return None
        return statistics.median(ours / theirs for ours, theirs in zip(self.ours_ms, self.sb3_ms))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per library that ran: the median and fastest block's time per update, and the blocks."""
        return {library: {"median_ms": statistics.median(times), "min_ms": min(times), "blocks": len(times)}
                for library, times in (("zoo", self.ours_ms), ("sb3", self.sb3_ms)) if times}

    def to_dict(self) -> dict[str, Any]:
        return {"algo": self.algo, "env_id": self.env_id, "batch_size": self.batch_size,
                "warmup_updates": self.warmup_updates, "updates_per_block": BLOCK_UPDATES, "threads": self.threads,
                "summary": self.summary(),
                "ratio_zoo_over_sb3": self.ratio(), "ours_ms": self.ours_ms, "sb3_ms": self.sb3_ms,
                "hyperparams": self.hyperparams, "notes": self.notes}


def run_per_update(algo: str, env_id: str, blocks: int, *, hyperparams: str | Path | None = None,
                   overrides: dict[str, Any] | None = None, compare_sb3: bool | None = None,
                   sb3_threads: int | None = None, seed: int = 0,
                   warmup_updates: int = WARMUP_UPDATES) -> PerUpdateReport:
    import torch

    from zoo.allocator import keep_freed_memory
    from zoo.benchmark.sb3 import SB3_EQUIVALENTS, sb3_available
    from zoo.threads import set_training_threads

    if blocks < 1:
        raise ZooError("--per-update must be at least 1 (blocks of updates to time).")
    spec = get_algo(algo)
    resolved = resolve_hyperparams(spec, env_id, overrides, hyperparams)
    config = resolved.config
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, config)
    env = description.make()
    try:
        built = build_agent(spec, env.observation_space, env.action_space, config, description, seed=seed)
        if not hasattr(built, "make_replay_buffer"):
            raise ZooError(f"--per-update times off-policy updates; {spec.name} is not an off-policy algo.")
        agent = cast(OffPolicyAgent, built)
        report = PerUpdateReport(spec.name, env_id, config.batch_size, dataclasses.asdict(config), warmup_updates)
        sb3_model = None
        if compare_sb3 is not False:
            available = sb3_available()
            equivalent = SB3_EQUIVALENTS.get(spec.hyperparams_name)
            translated = equivalent(config, env.action_space) if equivalent and available else None
            if translated is not None:
                sb3_class, sb3_kwargs, sb3_notes = translated
                report.notes += sb3_notes
                sb3_model = _sb3_model(sb3_class, sb3_kwargs, env, seed)
            else:
                why = ("Stable-Baselines3 is not installed (pip install 'zoo[benchmark]')" if not available
                       else f"SB3 has no counterpart for {spec.name} on {env.action_space}")
                if compare_sb3:
                    raise ZooError(why + ".")
                report.notes.append(why + ": ours only.")
        buffer = agent.make_replay_buffer(FILL_TRANSITIONS, seed)
        _fill(env, seed, agent, buffer, sb3_model)
    finally:
        env.close()

    default_threads = torch.get_num_threads()
    report.threads = {"zoo": config.n_threads or default_threads}
    if sb3_model is not None:
        report.threads["sb3"] = sb3_threads or default_threads
    keep_freed_memory()  # as our training loop does

    def ours(updates: int = BLOCK_UPDATES) -> float:
        set_training_threads(report.threads["zoo"])  # explicit: SB3's block before may have changed torch's
        started = time.perf_counter()
        for _ in range(updates):
            agent.update(buffer.sample(config.batch_size))
        return (time.perf_counter() - started) / updates * 1e3

    def theirs(updates: int = BLOCK_UPDATES) -> float:
        assert sb3_model is not None
        torch.set_num_threads(report.threads["sb3"])
        started = time.perf_counter()
        sb3_model.train(gradient_steps=updates, batch_size=config.batch_size)
        return (time.perf_counter() - started) / updates * 1e3

    # untimed: a training run's state (WARMUP_UPDATES), first-call allocations and thread pools
    ours(max(1, warmup_updates))
    if sb3_model is not None:
        theirs(max(1, warmup_updates))
    for _ in range(blocks):
        report.ours_ms.append(ours())
        if sb3_model is not None:
            report.sb3_ms.append(theirs())
    torch.set_num_threads(default_threads)
    return report


def _sb3_model(sb3_class: Any, kwargs: dict[str, Any], env: Any, seed: int) -> Any:
    from stable_baselines3.common.logger import configure

    kwargs = {**kwargs, "buffer_size": FILL_TRANSITIONS}
    model = sb3_class("MlpPolicy", env, seed=seed, verbose=0, device="cpu", **kwargs)
    model.set_logger(configure(None, []))  # train() records its losses; learn() would set this up
    return model


def _fill(env: Any, seed: int, agent: OffPolicyAgent, buffer: Any, sb3_model: Any) -> None:
    """The same random transitions into both buffers (terminated and truncated kept apart), as
    the warm-up of a training run makes them."""
    observation, _ = env.reset(seed=seed)
    agent.record_observation(observation)
    for action in agent.random_actions(FILL_TRANSITIONS):
        next_observation, reward, terminated, truncated, _ = env.step(action)
        buffer.add(observation, action, float(reward), next_observation, terminated, truncated)
        agent.record_observation(next_observation)
        if sb3_model is not None:
            sb3_model.replay_buffer.add(
                np.asarray(observation)[None], np.asarray(next_observation)[None], np.asarray(action)[None],
                np.array([reward]), np.array([terminated or truncated]),
                [{"TimeLimit.truncated": truncated and not terminated}])
        observation = next_observation
        if terminated or truncated:
            observation, _ = env.reset()
            agent.record_observation(observation)


def write_per_update_report(report: PerUpdateReport, out_dir: str | Path) -> Path:
    """OUT/benchmarks/per_update_<algo>_<env>_<time>.json, written whole or not at all."""
    import json

    from zoo.benchmark.runner import report_paths
    from zoo.files import atomic_write
    from zoo.runs import env_dir_name

    try:
        path, _ = report_paths(out_dir, f"per_update_{report.algo}_{env_dir_name(report.env_id)}")
        text = json.dumps(report.to_dict(), indent=2, default=str).encode()

        def write(stream: BinaryIO) -> None:
            stream.write(text)

        return atomic_write(path, write)
    except OSError as error:
        raise ZooError(f"--out {out_dir}: cannot write the report there ({error.strerror or error}).") from None
