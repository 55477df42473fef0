"""`zoo benchmark`: train several seeds, evaluate the final policies, and time it all, with
Stable-Baselines3 run on the same hyperparameters and budget when it is installed
(zoo/benchmark/sb3.py translates our configs).

Ours and SB3's runs alternate seed by seed, so that a noisy machine slows both alike. Wall
time is the whole training call (building the agent included) for both; evaluation is
outside the timing: 20 deterministic episodes on a fresh env seeded 10_000 + seed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.build import describe_env
from zoo.config import Overrides, resolve_hyperparams
from zoo.environments import EnvDescription, refuse_endless_episodes
from zoo.errors import ZooError
from zoo.evaluation import Player, evaluate_agent
from zoo.registry import get_algo
from zoo.runs import env_dir_name

LIBRARIES = ("zoo", "sb3")


EVAL_SEED_OFFSET = 10_000


@dataclass
class SeedResult:
    library: str  # "zoo" or "sb3"
    seed: int
    mean_return: float
    std_return: float
    seconds: float
    steps: int
    threads: int
    episodes: int | None = None  # training episodes (zoo only)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds


@dataclass
class BenchmarkReport:
    algo: str
    env_id: str
    n_timesteps: int
    eval_episodes: int
    hyperparams: dict[str, Any]
    results: list[SeedResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of(self, library: str) -> list[SeedResult]:
        return [r for r in self.results if r.library == library]

    def summary(self, library: str) -> dict[str, float] | None:
        rows = self.of(library)
        if not rows:
            return None
        returns = np.array([r.mean_return for r in rows])
        seconds = np.array([r.seconds for r in rows])
        return {
            "seeds": len(rows),
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "min_return": float(returns.min()),
            "mean_seconds": float(seconds.mean()),
            "steps_per_second": float(np.mean([r.steps_per_second for r in rows])),
        }

    def time_ratio(self) -> float | None:
        """Our mean wall time over SB3's: below 1 means faster."""
        ours, theirs = self.summary("zoo"), self.summary("sb3")
        if not ours or not theirs:
            return None
        return ours["mean_seconds"] / theirs["mean_seconds"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "algo": self.algo, "env_id": self.env_id, "n_timesteps": self.n_timesteps,
            "eval_episodes": self.eval_episodes, "hyperparams": self.hyperparams,
            "results": [dataclasses.asdict(r) | {"steps_per_second": r.steps_per_second} for r in self.results],
            "summary": {lib: self.summary(lib) for lib in ("zoo", "sb3") if self.summary(lib)},
            "time_ratio_zoo_over_sb3": self.time_ratio(), "notes": self.notes,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per library that ran: what the terminal table and the Markdown report show."""
        rows = []
        for library in LIBRARIES:
            results, summary = self.of(library), self.summary(library)
            if summary is None:
                continue
            rows.append({"library": library, "per_seed": ", ".join(f"{r.mean_return:.0f}" for r in results),
                         "mean_std": f"{summary['mean_return']:.1f} ± {summary['std_return']:.1f}",
                         "min": f"{summary['min_return']:.1f}", "wall_time": f"{summary['mean_seconds']:.1f} s",
                         "steps_per_second": f"{summary['steps_per_second']:.0f}", "threads": str(results[0].threads)})
        return rows

    def to_markdown(self) -> str:
        lines = [
            f"### {self.algo} on {self.env_id}, {self.n_timesteps} steps, {len(self.of('zoo'))} seeds",
            "",
            "| library | final return per seed | mean ± std | wall time per seed | env steps/s | threads |",
            "|---|---|---|---|---|---|",
        ]
        lines += [f"| {row['library']} | {row['per_seed']} | {row['mean_std']} | {row['wall_time']} | "
                  f"{row['steps_per_second']} | {row['threads']} |" for row in self.rows()]
        if self.time_ratio() is not None:
            lines += ["", f"zoo wall time / SB3 wall time: **{self.time_ratio():.2f}**"]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def write_report(report: BenchmarkReport, out_dir: str | Path) -> tuple[Path, Path]:
    json_path, markdown_path = report_paths(out_dir, f"{report.algo}_{env_dir_name(report.env_id)}")
    json_path.write_text(json.dumps(report.to_dict(), indent=2))
    markdown_path.write_text(report.to_markdown())
    return json_path, markdown_path


def report_paths(out_dir: str | Path, stem: str) -> tuple[Path, Path]:
    """OUT/benchmarks/<stem>_<time>.json and .md."""
    folder = Path(out_dir) / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{stem}_{time.strftime('%Y%m%d-%H%M%S')}"
    return folder / f"{stem}.json", folder / f"{stem}.md"


def evaluate_final_policy(agent: Player, description: EnvDescription, episodes: int, seed: int) -> tuple[float, float]:
    """The final policy over `episodes` deterministic episodes of a fresh env seeded 10_000 + seed."""
    env = description.make()
    try:
        result = evaluate_agent(agent, env, episodes, deterministic=True, seed=EVAL_SEED_OFFSET + seed)
    finally:
        env.close()
    return result.mean, result.std


def run_benchmark(
    algo: str,
    env_id: str,
    seeds: list[int],
    *,
    n_timesteps: int | None = None,
    overrides: dict[str, Any] | None = None,
    hyperparams: str | Path | None = None,
    eval_episodes: int = 20,
    compare_sb3: bool | None = None,
    sb3_threads: int | None = None,
    out_dir: str | Path = "runs",
    on_result: Callable[[SeedResult], None] | None = None,
    device: str = "auto",
) -> BenchmarkReport:
    """`compare_sb3=None` runs SB3 when it is installed; True insists on it. SB3 trains on the
    device our agent resolved `device` to, so that both sides run on the same hardware."""
    import torch

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS, SB3Player, sb3_available, sb3_env
    from zoo.train import train

    spec = get_algo(algo)
    if not spec.has_setting("n_timesteps"):
        raise ZooError(f"{spec.name} has no training budget to benchmark.")
    overrides = Overrides.copy_of(overrides or {})
    if n_timesteps is not None:
        overrides["n_timesteps"] = n_timesteps
    resolved = resolve_hyperparams(spec, env_id, overrides, hyperparams)
    refuse_endless_episodes(env_id, [(resolved.env_kwarg_source("max_episode_steps"),
                                      resolved.env_kwargs)], "the final evaluations play", "({example})")
    config = resolved.config
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, config)
    default_threads = torch.get_num_threads()
    report = BenchmarkReport(spec.name, env_id, config.n_timesteps, eval_episodes, dataclasses.asdict(config))

    sb3 = None
    if compare_sb3 is not False:
        if spec.hyperparams_name not in SB3_EQUIVALENTS:
            report.notes.append(f"SB3 has no counterpart for {spec.name} in this benchmark.")
        elif not sb3_available():
            if compare_sb3:
                raise ZooError("Stable-Baselines3 is not installed: pip install 'zoo[benchmark]'.")
            report.notes.append("Stable-Baselines3 is not installed (pip install 'zoo[benchmark]'): zoo only.")
        else:
            probe = description.make()
            equivalent = SB3_EQUIVALENTS[spec.hyperparams_name](config, probe.action_space)
            probe.close()
            if equivalent is None:
                report.notes.append(f"SB3 has no counterpart for {spec.name} on {probe.action_space}.")
            else:
                sb3_class, sb3_kwargs, sb3_notes = equivalent
                sb3 = (sb3_class, sb3_kwargs)
                report.notes += sb3_notes

    def record(result: SeedResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    for seed in seeds:
        started = time.perf_counter()
        trained = train(spec.name, env_id, seed=seed, overrides=overrides, hyperparams=hyperparams,
                        out_dir=Path(out_dir) / "benchmarks", device=device)
        trained_on = trained.agent.device_name
        if trained_on != "cpu" and seed == seeds[0]:
            report.notes.append(f"trained on {trained_on}")
        seconds = time.perf_counter() - started
        trained.env.close()
        mean, std = evaluate_final_policy(trained.agent, description, eval_episodes, seed)
        record(SeedResult("zoo", seed, mean, std, seconds, trained.summary.get("steps", config.n_timesteps),
                          getattr(config, "n_threads", default_threads) or default_threads,
                          trained.summary.get("episodes")))
        if trained.interrupted:
            report.notes.append("Interrupted: the last zoo run stopped early.")
            break

        if sb3 is not None:
            sb3_class, sb3_kwargs = sb3
            torch.set_num_threads(sb3_threads or default_threads)
            started = time.perf_counter()
            model = sb3_class("MlpPolicy", sb3_env(description, getattr(config, "n_envs", 1), seed, config),
                              seed=seed, verbose=0, device=trained_on, **sb3_kwargs)
            model.learn(config.n_timesteps)
            seconds = time.perf_counter() - started
            mean, std = evaluate_final_policy(SB3Player(model), description, eval_episodes, seed)
            record(SeedResult("sb3", seed, mean, std, seconds, config.n_timesteps, torch.get_num_threads()))
    return report


