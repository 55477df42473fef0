"""`train()`: resolve algo, env and hyperparameters, run the family's loop, save the run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.config import resolve_hyperparams
from zoo.environments import check_env_id, make_env
from zoo.errors import ZooError
from zoo.interrupt import stop_on_interrupt
from zoo.registry import get_algo
from zoo.runs import new_run_dir, write_run_config


def _family_loop(family: str):
    if family == "bandit":
        from zoo.loops.bandit import bandit_loop

        return bandit_loop
    if family == "planning":
        from zoo.loops.planning import planning_loop

        return planning_loop
    if family == "off_policy":
        from zoo.loops.off_policy import off_policy_loop

        return off_policy_loop
    if family == "on_policy":
        from zoo.loops.on_policy import on_policy_loop

        return on_policy_loop
    raise ValueError(f"no training loop for family {family!r}")


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    agent: Any
    env: Any  # the training env, still open, for the caller to render or close
    summary: dict[str, Any]
    interrupted: bool


def train(
    algo: str,
    env_id: str,
    *,
    seed: int = 0,
    n_timesteps: int | None = None,
    overrides: dict[str, Any] | None = None,
    out_dir: str | Path = "runs",
    progress: bool = False,
    hyperparams: str | Path | None = None,
) -> TrainResult:
    spec = get_algo(algo)
    check_env_id(env_id)
    config_class = spec.load_config_class()
    overrides = dict(overrides or {})
    if n_timesteps is not None:
        if "n_timesteps" not in {f.name for f in dataclasses.fields(config_class)}:
            raise ZooError(f"{spec.name} plans from the env's model and takes no step budget; drop --steps.")
        overrides["n_timesteps"] = n_timesteps
    resolved = resolve_hyperparams(spec.name, config_class, env_id, overrides, hyperparams)

    env = make_env(env_id, resolved.env_kwargs, config=resolved.config)
    agent = spec.load_agent_class()(
        env.observation_space, env.action_space, resolved.config,
        env_id=env_id, env_kwargs=resolved.env_kwargs, seed=seed,
    )
    run_dir = new_run_dir(out_dir, spec.name, env_id)
    write_run_config(run_dir, {
        "algo": spec.name,
        "env_id": env_id,
        "seed": seed,
        "env_kwargs": resolved.env_kwargs,
        "hyperparams": dataclasses.asdict(resolved.config),
        "sources": resolved.sources,
    })
    with stop_on_interrupt() as stop:
        summary = _family_loop(spec.family)(agent, env, resolved.config, seed=seed, run_dir=run_dir,
                                            stop=stop, progress=progress)
    checkpoint = agent.save(run_dir / "model.zip")
    return TrainResult(run_dir, checkpoint, agent, env, summary, interrupted=stop.requested)
