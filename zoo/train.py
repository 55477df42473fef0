"""`train()`: resolve algo, env and hyperparameters, run the family's loop, save the run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.checkpoint import CHECKPOINT_NAME
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
    resume: str | Path | None = None,
    tensorboard: bool = False,
    device: str = "auto",
) -> TrainResult:
    """With `resume` (a run directory or checkpoint), training continues from that agent, with
    its hyperparameters and its replay buffer when the run kept one (`save_replay_buffer`), up
    to `n_timesteps` in all; the continued run gets a new run directory. `tensorboard` also
    writes the run's curves to RUN_DIR/tensorboard (deep-RL algos). `device`: auto, cpu, cuda
    or cuda:N, where the networks train (zoo.devices)."""
    spec = get_algo(algo)
    check_env_id(env_id)
    loop_options: dict[str, Any] = {"progress": progress}
    if tensorboard:
        if not spec.learns_from_experience:
            raise ZooError(f"{spec.name} ({spec.family}) has no learning curve to log; --tensorboard is for "
                           "the deep-RL algos. Its run directory holds its results.")
        from zoo.loops.monitor import require_tensorboard

        require_tensorboard()  # before a run directory exists
        loop_options["tensorboard"] = True
    if resume is not None:
        return _resume(spec, env_id, Path(resume), seed=seed, n_timesteps=n_timesteps,
                       overrides=dict(overrides or {}), out_dir=out_dir, loop_options=loop_options, device=device)
    overrides = dict(overrides or {})
    if n_timesteps is not None:
        if not spec.has_setting("n_timesteps"):
            raise ZooError(f"{spec.name} plans from the env's model and takes no step budget; drop --steps.")
        overrides["n_timesteps"] = n_timesteps
    if "n_envs" in overrides and not spec.has_setting("n_envs"):
        from zoo.registry import ALGOS

        several = [name for name, other in ALGOS.items() if other.has_setting("n_envs")]
        raise ZooError(f"{spec.name} learns from one env at a time; --n-envs is for {', '.join(several)}.")
    resolved = resolve_hyperparams(spec.name, spec.load_config_class(), env_id, overrides, hyperparams)

    env = make_env(env_id, resolved.env_kwargs, config=resolved.config)
    agent = spec.load_agent_class()(
        env.observation_space, env.action_space, resolved.config,
        env_id=env_id, env_kwargs=resolved.env_kwargs, seed=seed, device=device,
    )
    run_dir = new_run_dir(out_dir, spec.name, env_id)
    write_run_config(run_dir, {
        "algo": spec.name,
        "env_id": env_id,
        "seed": seed,
        "device": agent.device_name,
        "env_kwargs": resolved.env_kwargs,
        "hyperparams": dataclasses.asdict(resolved.config),
        "sources": resolved.sources,
    })
    return _run(spec, agent, env, resolved.config, seed, run_dir, loop_options)


def _run(spec, agent: Any, env: Any, config: Any, seed: int, run_dir: Path, loop_options: dict[str, Any]
         ) -> TrainResult:
    """The family's loop, Ctrl-C turned into a clean stop, then the final checkpoint."""
    with stop_on_interrupt() as stop:
        summary = _family_loop(spec.family)(agent, env, config, seed=seed, run_dir=run_dir, stop=stop,
                                            **loop_options)
    checkpoint = agent.save(run_dir / CHECKPOINT_NAME)
    return TrainResult(run_dir, checkpoint, agent, env, summary, interrupted=stop.requested)


def _resume(spec, env_id: str, resume: Path, *, seed: int, n_timesteps: int | None, overrides: dict[str, Any],
            out_dir: str | Path, loop_options: dict[str, Any], device: str) -> TrainResult:
    from zoo.checkpoint import check_compatible, checkpoint_file, read_arrays, read_checkpoint
    from zoo.config import build_config
    from zoo.loops.off_policy import REPLAY_BUFFER_NAME

    if not spec.learns_from_experience:
        raise ZooError(f"{spec.name} learns in one go ({spec.family}); there is nothing to resume.")
    checkpoint = checkpoint_file(resume)
    metadata, arrays = read_checkpoint(checkpoint)  # read once: its config first, then its arrays
    check_compatible(metadata, checkpoint, algo=spec.name, env_id=env_id)
    previous_steps = int(metadata.get("num_timesteps", 0))
    env_kwargs = metadata.get("env_kwargs") or {}
    if not isinstance(metadata.get("config"), dict):
        raise ZooError(f"{checkpoint} holds no readable config; it is corrupt or not a zoo checkpoint.")
    values = {**metadata["config"], **overrides}
    if n_timesteps is not None:
        values["n_timesteps"] = n_timesteps
    config = build_config(spec.load_config_class(), values, source=f"--resume {resume}")
    if config.n_timesteps <= previous_steps:
        raise ZooError(f"{checkpoint} has trained {previous_steps} steps already, n_timesteps is "
                       f"{config.n_timesteps}: pass a larger total with --steps.")
    env = make_env(env_id, env_kwargs, config=config)
    agent = spec.load_agent_class()(env.observation_space, env.action_space, config, env_id=env_id,
                                    env_kwargs=env_kwargs, seed=seed, device=device)
    agent.restore(metadata, arrays, checkpoint)  # weights, optimizer state, statistics and num_timesteps
    run_dir = new_run_dir(out_dir, spec.name, env_id)
    write_run_config(run_dir, {
        "algo": spec.name, "env_id": env_id, "seed": seed, "device": agent.device_name,
        "env_kwargs": env_kwargs,
        "hyperparams": dataclasses.asdict(config), "resumed_from": str(checkpoint),
        "resumed_at_step": previous_steps,
    })
    extra: dict[str, Any] = {**loop_options, "start_step": agent.num_timesteps}
    replay_path = checkpoint.parent / REPLAY_BUFFER_NAME
    if spec.family == "off_policy" and replay_path.exists():
        extra["replay"] = read_arrays(replay_path)
    result = _run(spec, agent, env, config, seed, run_dir, extra)
    result.summary["resumed_from_step"] = extra["start_step"]
    result.summary["replay_buffer_restored"] = "replay" in extra
    return result
