"""One SB3 training as a process of its own, for `zoo benchmark --time-to-solve`:

    python -m zoo.benchmark.sb3_process ALGO ENV_ID SEED RUN_DIR [--eval-freq N] ...

It trains Stable-Baselines3 on RL Zoo's entry for ENV_ID (`hyperparams/rl_zoo/`, translated by
zoo/benchmark/sb3.py) at its full budget, what `python -m rl_zoo3.train --algo ALGO --env ENV
--seed S --eval-freq -1` runs (rl_zoo3 itself is not a dependency). It writes a run folder
that `zoo plot` reads beside ours: config.yml (`library: sb3`), progress.csv (training
episodes) and, with --eval-freq, evaluations.csv (with the evaluation time inside the wall
clock, as ours). Then, outside the timing, `trained.json`: the wall-clock instant (time.time())
training ended, for the parent to time the whole process up to there, and the final policy's
return over --eval-episodes deterministic episodes (env seeded 10000 + SEED).

No model file is written: the parent never has to unpickle SB3's zip.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

RL_ZOO = "rl_zoo"  # the shipped set of RL Zoo's entries, hyperparams/rl_zoo/
TRAINED_NAME = "trained.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zoo.benchmark.sb3_process")
    parser.add_argument("algo")
    parser.add_argument("env_id")
    parser.add_argument("seed", type=int)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--eval-freq", type=int, default=0)
    parser.add_argument("--eval-runs", type=int, default=10, help="episodes of each periodic evaluation")
    parser.add_argument("--eval-episodes", type=int, default=20, help="episodes judging the final policy")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--steps", type=int, default=0, help="budget (0: the entry's)")
    args = parser.parse_args(argv)
    train_and_report(args.algo, args.env_id, args.seed, args.run_dir, eval_freq=args.eval_freq,
                     eval_runs=args.eval_runs, eval_episodes=args.eval_episodes, threads=args.threads,
                     steps=args.steps)


def train_and_report(algo: str, env_id: str, seed: int, run_dir: Path, *, eval_freq: int, eval_runs: int,
                     eval_episodes: int, threads: int, steps: int = 0) -> None:
    import dataclasses

    import torch
    import yaml
    from stable_baselines3.common.callbacks import BaseCallback

    from zoo.benchmark.runner import evaluate_final_policy
    from zoo.benchmark.sb3 import SB3_EQUIVALENTS, SB3Player, sb3_env
    from zoo.build import describe_env
    from zoo.config import resolve_hyperparams
    from zoo.evaluation import evaluate_agent
    from zoo.registry import get_algo
    from zoo.runs import CsvLog

    if threads > 0:
        torch.set_num_threads(threads)
    spec = get_algo(algo)
    resolved = resolve_hyperparams(spec, env_id, {"n_timesteps": steps} if steps > 0 else None, RL_ZOO)
    config = resolved.config
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, config)
    probe = description.make()
    equivalent = SB3_EQUIVALENTS[spec.hyperparams_name](config, probe.action_space)
    probe.close()
    if equivalent is None:
        raise SystemExit(f"SB3 has no counterpart for {algo} on {env_id}.")
    sb3_class, sb3_kwargs, _notes = equivalent
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yml").write_text(yaml.safe_dump({
        "algo": spec.name, "env_id": env_id, "library": "sb3", "sb3_class": sb3_class.__name__, "seed": seed,
        "hyperparams": json.loads(json.dumps(dataclasses.asdict(config), default=list))}, sort_keys=False))
    episodes = CsvLog(run_dir / "progress.csv", ["step", "episode", "return", "length", "loss", "time"])
    evaluations = CsvLog(run_dir / "evaluations.csv", ["step", "mean_return", "std_return", "mean_length", "time"])
    eval_env = description.make() if eval_freq > 0 else None
    if eval_env is not None:
        eval_env.reset(seed=seed + 1_000)  # apart from training's stream, as our monitor seeds it

    class Logs(BaseCallback):
        """Our progress.csv and evaluations.csv from SB3's Monitor infos and its own policy."""

        def __init__(self) -> None:
            super().__init__()
            self.started = time.perf_counter()
            self.episode = 0
            self.next_evaluation = eval_freq

        def _on_step(self) -> bool:
            now = time.perf_counter() - self.started
            for info in self.locals.get("infos", []):
                if "episode" in info:
                    self.episode += 1
                    row = {"step": self.num_timesteps, "episode": self.episode, "return": float(info["episode"]["r"]),
                           "length": int(info["episode"]["l"]), "loss": "", "time": round(now, 3)}
                    episodes.write(**row)
            if eval_env is not None and self.num_timesteps >= self.next_evaluation:
                self.next_evaluation += eval_freq
                result = evaluate_agent(SB3Player(self.model), eval_env, eval_runs, deterministic=True)
                evaluations.write(step=self.num_timesteps, mean_return=result.mean, std_return=result.std,
                                  mean_length=sum(result.lengths) / max(1, len(result.lengths)),
                                  time=round(time.perf_counter() - self.started, 3))
            return True

    model = sb3_class("MlpPolicy", sb3_env(description, getattr(config, "n_envs", 1), seed, config), seed=seed,
                      verbose=0, device="cpu", **sb3_kwargs)
    model.learn(config.n_timesteps, callback=Logs())
    trained_at = time.time()
    episodes.close()
    evaluations.close()
    mean, std = evaluate_final_policy(SB3Player(model), description, eval_episodes, seed)
    report: dict[str, Any] = {"trained_at": trained_at, "steps": int(model.num_timesteps), "mean_return": mean,
                              "std_return": std, "threads": torch.get_num_threads(),
                              "sb3_class": sb3_class.__name__}
    (run_dir / TRAINED_NAME).write_text(json.dumps(report))


if __name__ == "__main__":
    main()
