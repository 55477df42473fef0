"""`zoo benchmark ALGO ENV --time-to-solve`: what a user waits for, ours against SB3 + RL Zoo.

Ours: the whole `zoo train ALGO ENV --seed S` process with our shipped entry (or
--hyperparams), imports included, timed from its start to its exit; the entry's own
evaluations and early stop (`stop_at_return`) are part of it, as for any user.
SB3: the whole process of zoo/benchmark/sb3_process.py, which trains SB3 on RL Zoo's entry
at its full budget (what `python -m rl_zoo3.train --algo ALGO --env ENV --seed S --eval-freq
-1` runs), timed from its start to the end of `learn()`; with `--sb3-eval-freq N` it also
evaluates every N steps (inside its wall time, as ours) and keeps evaluations.csv for `zoo
plot --x seconds`.

Seeds alternate, ours then SB3's, so that a drifting machine slows both alike. Each final
policy is then judged outside the timing on `--episodes` deterministic episodes of a fresh env
seeded 10_000 + seed; on Pendulum the report also gives the best mean any policy reaches on
each seed's judge episodes (zoo/benchmark/ceiling.py), since some judge sets put a target out
of everyone's reach. Every run folder stays under OUT/benchmarks/time_to_solve/.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.benchmark.ceiling import judge_ceilings
from zoo.benchmark.runner import BenchmarkReport, SeedResult, evaluate_final_policy
from zoo.benchmark.sb3_process import RL_ZOO, TRAINED_NAME
from zoo.build import describe_env
from zoo.config import resolve_hyperparams
from zoo.errors import ZooError
from zoo.registry import get_algo
from zoo.runs import env_dir_name


def run_time_to_solve(
    algo: str,
    env_id: str,
    seeds: list[int],
    *,
    hyperparams: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    eval_episodes: int = 20,
    compare_sb3: bool | None = None,
    sb3_seeds: int | None = None,
    sb3_threads: int | None = None,
    sb3_eval_freq: int = 0,
    sb3_steps: int | None = None,
    target: float | None = None,
    out_dir: str | Path = "runs",
    on_result: Callable[[SeedResult], None] | None = None,
) -> tuple[BenchmarkReport, Path]:
    """Returns the report and the folder holding every run (zoo/seed_S/..., sb3/seed_S/)."""
    import torch

    from zoo.benchmark.sb3 import SB3_EQUIVALENTS, sb3_available
    from zoo.build import load_agent
    from zoo.checkpoint import CHECKPOINT_NAME

    default_threads = torch.get_num_threads()
    spec = get_algo(algo)
    if not spec.has_setting("n_timesteps"):
        raise ZooError(f"{spec.name} has no training budget to benchmark.")
    if sb3_steps is not None and sb3_steps < 1:
        raise ZooError("--sb3-steps must be at least 1.")
    if sb3_eval_freq < 0:
        raise ZooError("--sb3-eval-freq must be at least 0 (0: no evaluation, as RL Zoo's --eval-freq -1).")
    resolved = resolve_hyperparams(spec, env_id, overrides, hyperparams)
    config = resolved.config
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, config)
    folder = Path(out_dir) / "benchmarks" / "time_to_solve" / (
        f"{spec.name}_{env_dir_name(env_id)}_{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ZooError(f"--out {out_dir}: cannot make a benchmark folder in it ({error.strerror or error}).") from None
    report = BenchmarkReport(spec.name, env_id, config.n_timesteps, eval_episodes, dataclasses.asdict(config))
    report.notes.append("time to solve: ours is the whole `zoo train` process on our entry (imports, its "
                        "evaluations and early stop included); SB3's the whole process on RL Zoo's entry at its "
                        "full budget" + (f", evaluating every {sb3_eval_freq} steps" if sb3_eval_freq else
                                         ", without evaluations"))

    with_sb3 = compare_sb3 is not False and _sb3_can_run(spec, env_id, report, compare_sb3, SB3_EQUIVALENTS,
                                                         sb3_available())
    if with_sb3:
        sb3_budget = sb3_steps or resolve_hyperparams(spec, env_id, None, RL_ZOO).config.n_timesteps
        report.notes.append(f"SB3 trains RL Zoo's entry (hyperparams/rl_zoo/{spec.hyperparams_name}.yml): "
                            f"{sb3_budget} steps" + ("" if sb3_steps is None else " (--sb3-steps)"))
    for index, seed in enumerate(seeds):
        run_dir = folder / "zoo" / f"seed_{seed}"
        command = [sys.executable, "-m", "zoo", "train", spec.name, env_id, "--seed", str(seed), "--out", str(run_dir)]
        if hyperparams is not None:
            command += ["--hyperparams", str(hyperparams)]
        for key, value in (overrides or {}).items():
            command += ["--hp", f"{key}={json.dumps(value)}"]  # JSON is YAML: --hp parses it back
        started = time.perf_counter()
        _run(command, run_dir, "zoo train")
        seconds = time.perf_counter() - started
        checkpoints = sorted(run_dir.glob(f"*/*/{CHECKPOINT_NAME}"))
        if len(checkpoints) != 1:
            raise ZooError(f"{run_dir}: expected one run with a {CHECKPOINT_NAME}, found {len(checkpoints)}.")
        agent = load_agent(checkpoints[0])
        mean, std = evaluate_final_policy(agent, description, eval_episodes, seed)
        _record(report, SeedResult("zoo", seed, mean, std, seconds, int(agent.num_timesteps),
                                   int(getattr(config, "n_threads", 0) or default_threads)), on_result)

        if with_sb3 and (sb3_seeds is None or index < sb3_seeds):
            sb3_dir = folder / "sb3" / f"seed_{seed}"
            command = [sys.executable, "-m", "zoo.benchmark.sb3_process", spec.name, env_id, str(seed), str(sb3_dir),
                       "--eval-freq", str(sb3_eval_freq), "--eval-episodes", str(eval_episodes),
                       "--threads", str(sb3_threads or 0), "--steps", str(sb3_budget)]
            wall_started = time.time()  # the child reports when training ended on the same clock
            _run(command, sb3_dir, "SB3")
            trained = json.loads((sb3_dir / TRAINED_NAME).read_text())
            _record(report, SeedResult("sb3", seed, trained["mean_return"], trained["std_return"],
                                       trained["trained_at"] - wall_started, trained["steps"], trained["threads"]),
                    on_result)
    # Pendulum's judge sets differ in what any policy can reach (zoo/benchmark/ceiling.py): ~15 s + ~3 s a seed, untimed
    try:
        ceilings = judge_ceilings(description.make, seeds, eval_episodes)
    except KeyboardInterrupt:  # every run is done: a Ctrl-C here skips only this, and the report is written
        ceilings = None
        report.notes.append("the judge sets' best possible returns were not computed: interrupted")
    if ceilings is not None:
        report.notes.append("best mean return found for any policy on each seed's judge episodes (dynamic "
                            "programming on Pendulum's dynamics): "
                            + ", ".join(f"seed {seed} {value:.1f}" for seed, value in ceilings.items()))
    if target is not None:
        for library in ("zoo", "sb3"):
            rows = report.of(library)
            if rows:
                solved = sum(r.mean_return >= target for r in rows)
                report.notes.append(f"{library}: {solved} of {len(rows)} seeds reach {target:g}")
        if ceilings is not None:
            out_of_reach = [seed for seed, value in ceilings.items() if value < target]
            which = f" (seeds {', '.join(map(str, out_of_reach))})" if out_of_reach else ""
            report.notes.append(f"{target:g} is out of every policy's reach on {len(out_of_reach)} of "
                                f"{len(ceilings)} judge sets{which}")
    return report, folder


def _sb3_can_run(spec: Any, env_id: str, report: BenchmarkReport, insist: bool | None, equivalents: dict,
                 available: bool) -> bool:
    if spec.hyperparams_name not in equivalents:
        report.notes.append(f"SB3 has no counterpart for {spec.name} in this benchmark.")
        return False
    if not available:
        if insist:
            raise ZooError("Stable-Baselines3 is not installed: pip install 'zoo[benchmark]'.")
        report.notes.append("Stable-Baselines3 is not installed (pip install 'zoo[benchmark]'): zoo only.")
        return False
    if len(resolve_hyperparams(spec, env_id, None, RL_ZOO).sources) <= 1:
        message = f"RL Zoo has no {spec.hyperparams_name} entry for {env_id} in hyperparams/rl_zoo/"
        if insist:
            raise ZooError(message + ".")
        report.notes.append(message + ": zoo only.")
        return False
    return True


def _record(report: BenchmarkReport, result: SeedResult, on_result: Callable[[SeedResult], None] | None) -> None:
    report.results.append(result)
    if on_result:
        on_result(result)


class SeedInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a seed's child process (which saved what it had, for ours)."""

    def __init__(self, signal_name: str, who: str, run_dir: Path):
        super().__init__(f"{who} in {run_dir} stopped by {signal_name}")
        self.signal_name, self.who, self.run_dir = signal_name, who, run_dir


def _run(command: list[str], run_dir: Path, who: str) -> None:
    """A child process with its output in RUN_DIR/output.log; one error if it fails."""
    from zoo.interrupt import signal_name_of_exit, stop_on_interrupt, wait_passing_on

    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "output.log"
    # Ctrl-C reaches the child too (one process group) and it saves what it learned: this process
    # waits for it. A signal to this process alone (SIGTERM from `timeout`) is passed on as SIGTERM.
    with log.open("w") as output, stop_on_interrupt() as stop:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        wait_passing_on(stop, lambda: [child] if child.poll() is None else [], lambda alive: time.sleep(0.2))
    code = child.returncode
    stopped_by = stop.signal_name or signal_name_of_exit(code)  # a stop always names its signal
    if stopped_by is not None:
        raise SeedInterrupted(stopped_by, who, run_dir)
    if code != 0:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        raise ZooError(f"{who} failed (exit code {code}); {log}: {tail[-500:]}")
