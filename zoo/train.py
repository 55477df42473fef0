"""`train()`: resolve algo, env and hyperparameters, build the agent and its envs once, run
the family's loop, save the run.

Every env a run uses comes from one EnvDescription built here: the training env (or vector
env) and the evaluation env are made once and handed to the loop, which never rebuilds them.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from zoo.agent import BaseAgent
from zoo.build import agent_from_checkpoint, build_agent, describe_env, env_of
from zoo.callbacks import Callback, run_callbacks
from zoo.checkpoint import CHECKPOINT_NAME, check_compatible, checkpoint_file, read_checkpoint
from zoo.config import ENV_KWARGS_KEY, ENV_WRAPPERS_KEY, Overrides, check_seed, config_with_flags, resolve_hyperparams
from zoo.environments import EnvDescription, check_env_arguments, check_env_id, refuse_endless_episodes, shape_misfit
from zoo.errors import ZooError, brief
from zoo.files import flag_folder, read_arrays
from zoo.interrupt import StopFlag, stop_on_interrupt
from zoo.registry import ALGOS, AlgoSpec, get_algo
from zoo.runs import (
    BEST_CHECKPOINT_NAME,
    CHECKPOINTS_DIR_NAME,
    latest_periodic_checkpoint,
    new_run_dir,
    refuse_folder_of_runs,
    replay_buffer_beside,
    write_run_config,
)
from zoo.threads import set_training_threads


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    agent: Any
    env: gym.Env  # the training env (for on-policy runs, one like it), still open, to render or close
    summary: dict[str, Any]
    interrupted: bool
    stopped_by: str | None = None  # the signal that interrupted it: SIGINT (Ctrl-C) or SIGTERM


# RL Zoo's --vec-env names (SB3's vector env classes) and zoo's own, as `vectorization`
VEC_ENVS = {"dummy": "sync", "subproc": "async", "sync": "sync", "async": "async"}


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
    tensorboard: bool | Path = False,
    device: str = "auto",
    callbacks: Sequence[Callback] = (),
    stop: StopFlag | None = None,
    on_start: Callable[[Path], None] | None = None,
    n_envs: int | None = None,
    save_freq: int | None = None,
    eval_freq: int | None = None,
    eval_episodes: int | None = None,
    n_eval_envs: int | None = None,
    save_replay_buffer: bool = False,
    n_threads: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    vec_env: str | None = None,
    eval_env_kwargs: dict[str, Any] | None = None,
) -> TrainResult:
    """With `resume` (a run directory or checkpoint), training continues from that agent, with
    its hyperparameters and its replay buffer when the run kept one (`save_replay_buffer`), up
    to `n_timesteps` in all; the continued run gets a new run directory. `tensorboard` also
    writes the run's curves to RUN_DIR/tensorboard (deep-RL algos), or, a folder (RL Zoo's
    --tensorboard-log), to FOLDER/<env>/<algo>_<n> (SB3's layout, n the run's number).
    `device`: auto, cpu, cuda or cuda:N, where the networks train (zoo.devices). `callbacks`
    (zoo.callbacks) hear of every step, episode and evaluation of a deep-RL run and may stop
    it. `stop`: a flag of the caller's that Ctrl-C and SIGTERM raise (zoo.interrupt), already
    raised or not. `on_start` hears the run directory once the run is set up (its
    hyperparameters, env and agent accepted), before the first step: where the CLI says what
    it is training. `n_envs`,
    `save_freq`, `eval_freq`, `eval_episodes` (n_eval_episodes), `n_eval_envs`, `save_replay_buffer` (True: on)
    and `n_threads` are those hyperparameters as flags, RL Zoo's (`save_freq`: a checkpoint every
    that many env steps in RUN_DIR/checkpoints/, which `resume` of a killed run's folder goes on
    from); like `n_timesteps`, they override `overrides`. `env_kwargs` (RL Zoo's --env-kwargs)
    go to gym.make over the entry's and `overrides`' env_kwargs. `vec_env` is RL Zoo's --vec-env:
    dummy or subproc (sync or async: the `vectorization` hyperparameter). `eval_env_kwargs` (RL
    Zoo's --eval-env-kwargs) go over those for the evaluation envs alone, which must keep the
    training env's spaces; the checkpoint keeps the training env's."""
    spec = get_algo(algo)
    check_seed(seed)
    check_env_id(env_id)
    if isinstance(tensorboard, str):  # a folder named as text
        tensorboard = Path(tensorboard)
    if isinstance(tensorboard, Path):
        flag_folder(tensorboard, "--tensorboard-log", "the curves go to its <env>/<algo>_<n>", make=False)
    if n_timesteps is not None and n_timesteps < 1:
        raise ZooError(f"--steps must be at least 1, got {n_timesteps}.")
    if tensorboard or callbacks:
        if not spec.learns_from_experience:
            what = ("--tensorboard is" if tensorboard is True else "--tensorboard-log is" if tensorboard
                    else "callbacks are")
            raise ZooError(f"{spec.name} ({spec.family}) has no learning curve to log; {what} for the deep-RL "
                           "algos. Its run directory holds its results.")
        if tensorboard:
            from zoo.callbacks import require_tensorboard

            require_tensorboard()  # before a run directory exists
    overrides = Overrides.copy_of(overrides or {})
    # The settings with flags of their own come last, each a layer named by its flag, so that
    # a bad value is reported against the flag the user typed (not --hp).
    flags: list[tuple[str, dict[str, Any]]] = []
    if n_timesteps is not None:
        if not spec.has_setting("n_timesteps"):
            raise ZooError(f"{spec.name} plans from the env's model and takes no step budget; drop --steps.")
        flags.append(("--steps", {"n_timesteps": n_timesteps}))
    if n_envs is not None:
        flags.append(("--n-envs", {"n_envs": n_envs}))
    if save_freq is not None:
        if not spec.has_setting("save_freq"):
            raise ZooError(f"{spec.name} ({spec.family}) keeps no periodic checkpoints, the deep-RL algos do; drop "
                           "--save-freq.")
        if save_freq < 0:
            raise ZooError(f"--save-freq must be >= 0 (env steps between checkpoints; 0: none), got {save_freq}.")
        flags.append(("--save-freq", {"save_freq": save_freq}))
    for flag, key, value in (("--eval-freq", "eval_freq", eval_freq),
                             ("--eval-episodes", "n_eval_episodes", eval_episodes),
                             ("--n-eval-envs", "n_eval_envs", n_eval_envs)):
        if value is not None:
            if not spec.has_setting(key):
                raise ZooError(f"{spec.name} ({spec.family}) has no periodic evaluations, the deep-RL algos do; drop "
                               f"{flag}.")
            # RL Zoo's --eval-freq -1: no evaluations, so no stop on one (an entry's stop_at_return)
            flags.append((flag, {key: value} if key != "eval_freq" or value > 0
                          else {"eval_freq": 0, "stop_at_return": None}))
    for flag, key, value in (("--save-replay-buffer", "save_replay_buffer", True if save_replay_buffer else None),
                             ("--num-threads", "n_threads", n_threads)):
        if value is not None:
            if not spec.has_setting(key):
                what = "replay buffer" if key == "save_replay_buffer" else "torch threads to set"
                raise ZooError(f"{spec.name} ({spec.family}) has no {what}; drop {flag}.")
            flags.append((flag, {key: value}))
    if env_kwargs:
        flags.append(("--env-kwargs", {ENV_KWARGS_KEY: dict(env_kwargs)}))
    if vec_env is not None:
        vectorization = VEC_ENVS.get(vec_env)
        if vectorization is None:
            raise ZooError(f"--vec-env is dummy or subproc (RL Zoo's; sync or async, zoo's), got {vec_env!r}.")
        if not spec.has_setting("vectorization"):
            raise ZooError(f"{spec.name} ({spec.family}) steps one env; --vec-env is for the algos that collect from "
                           "several (--n-envs).")
        flags.append(("--vec-env", {"vectorization": vectorization}))
    if (n_envs is not None or "n_envs" in overrides) and not spec.has_setting("n_envs"):
        several = [name for name, other in ALGOS.items() if other.has_setting("n_envs")]
        raise ZooError(f"{spec.name} learns from one env at a time; --n-envs is for {', '.join(several)}.")
    if eval_env_kwargs:
        if not spec.learns_from_experience:
            raise ZooError(f"{spec.name} ({spec.family}) has no evaluations during training; drop --eval-env-kwargs.")
        check_env_arguments(env_id, eval_env_kwargs, "--eval-env-kwargs")
    if resume is not None:
        return _resume(spec, env_id, Path(resume), seed=seed, overrides=overrides, flags=flags,
                       out_dir=out_dir, progress=progress, tensorboard=tensorboard, device=device,
                       callbacks=callbacks, stop=stop, on_start=on_start, eval_env_kwargs=eval_env_kwargs)

    resolved = resolve_hyperparams(spec, env_id, overrides, hyperparams, flags=flags)
    description = describe_env(spec, env_id, resolved.env_kwargs, resolved.env_wrappers, resolved.config)
    env = description.make()
    try:
        # The run's threads before its networks are built: orthogonal init's QR (LAPACK) sums in
        # another order on two threads than on one, so a PPO run started with torch's default two
        # threads and one started after another run (which left one) diverged from the first
        # update on (CI, 2026-11-27: test_ppo_learns_pendulum, -343 against -136 median).
        set_training_threads(getattr(resolved.config, "n_threads", 0))
        agent = build_agent(spec, env.observation_space, env.action_space, resolved.config, description, seed=seed,
                            device=device)
        _check_env_for_family(spec, env, seed)
        _refuse_endless_episodes(description, eval_env_kwargs, resolved.config,
                                 resolved.env_kwarg_source("max_episode_steps"))
        evaluation = _evaluation_env(description, eval_env_kwargs, env, getattr(resolved.config, "eval_freq", 0))
    except BaseException:
        env.close()
        raise
    run_dir = new_run_dir(out_dir, spec.name, env_id)
    write_run_config(run_dir, {
        "algo": spec.name,
        "env_id": env_id,
        "seed": seed,
        "device": agent.device_name,
        "env_kwargs": resolved.env_kwargs,
        "env_wrappers": resolved.env_wrappers,
        **({"eval_env_kwargs": dict(eval_env_kwargs)} if eval_env_kwargs else {}),
        "hyperparams": dataclasses.asdict(resolved.config),
        "sources": resolved.sources,
    })
    with _discard_if_refused(run_dir):
        return _run(spec, agent, env, description, seed, run_dir, progress=progress, tensorboard=tensorboard,
                    callbacks=callbacks, stop=stop, on_start=on_start, evaluation=evaluation)


def _refuse_endless_episodes(description: EnvDescription, eval_env_kwargs: dict[str, Any] | None, config: Any,
                             env_kwargs_source: str) -> None:
    """max_episode_steps -1 (no time limit) where the run needs whole episodes: its periodic
    evaluations, or an update per whole episode (n_steps 0, REINFORCE), which would collect one
    forever past the budget. `env_kwargs_source`: where the run's max_episode_steps came from."""
    run_layer = (env_kwargs_source, description.env_kwargs)
    eval_freq = getattr(config, "eval_freq", 0)
    if eval_freq > 0:
        refuse_endless_episodes(description.env_id, [run_layer, ("--eval-env-kwargs", eval_env_kwargs)],
                                f"the evaluations (every {eval_freq} steps) play",
                                "({example}, or --eval-env-kwargs {example} for the evaluations alone), or eval_freq 0")
    if getattr(config, "n_steps", None) == 0:
        refuse_endless_episodes(description.env_id, [run_layer], "each update (n_steps 0) collects", "({example})")


def _evaluation_env(description: EnvDescription, eval_env_kwargs: dict[str, Any] | None, env: gym.Env,
                    eval_freq: int) -> EnvDescription:
    """The env the periodic evaluations play: the training env, or it with --eval-env-kwargs
    over its env_kwargs, checked (one made and closed) to keep the spaces the agent acts in."""
    if not eval_env_kwargs:
        return description
    if eval_freq <= 0:  # the flag would do nothing
        raise ZooError("--eval-env-kwargs is for the periodic evaluations, and this run has none (eval_freq "
                       f"{eval_freq}); give --eval-freq N, or drop the flag.")
    evaluation = dataclasses.replace(description, env_kwargs={**description.env_kwargs, **eval_env_kwargs})
    probe = evaluation.make()
    try:
        for what, trained, evaluated in (("observation", env.observation_space, probe.observation_space),
                                         ("action", env.action_space, probe.action_space)):
            if trained != evaluated:
                raise ZooError(f"--eval-env-kwargs {brief(dict(eval_env_kwargs))} makes an env with {what} space "
                               f"{evaluated}, the training env's is {trained}: the agent could not play it.")
    finally:
        probe.close()
    return evaluation


def _check_env_for_family(spec: AlgoSpec, env: gym.Env, seed: int) -> None:
    """What the bandit and planning loops need of the env, and the deep-RL loops of a Box env's
    observations (their shape), checked before the run is set up (so nothing is announced, and
    no folder made, for a run that cannot start)."""
    if spec.family == "planning":
        from zoo.planning import model_of

        model_of(env)
    elif spec.family == "bandit":
        from zoo.loops.bandit import check_bandit_info

        check_bandit_info(spec.name, env.reset(seed=seed)[1])  # the loop resets with the same seed
    elif isinstance(env.observation_space, gym.spaces.Box):
        # a custom env whose observations do not fit its own space failed deep in the replay buffer
        # or Gymnasium's vector env, with a traceback; the loop resets with the same seed
        reset = env.reset(seed=seed)
        name = env.spec.id if env.spec else "The env"
        if not (isinstance(reset, tuple) and len(reset) == 2):
            raise ZooError(f"{name}'s reset returned {type(reset).__name__}, not (observation, info): it follows the "
                           "old Gym API; Gymnasium's reset returns (observation, info) and its step five values.")
        misfit = shape_misfit(env.observation_space, reset[0])
        if misfit:
            raise ZooError(f"{name}'s reset returned {misfit}: its observations must fit it.")


@contextmanager
def _discard_if_refused(run_dir: Path) -> Iterator[None]:
    """A run refused before it learned anything (a buffer too large, an env that cannot be
    vectorised) leaves no folder behind; one that learned keeps its logs and checkpoints."""
    try:
        yield
    except ZooError:
        learned = any(path.suffix == ".zip" or path.name == CHECKPOINTS_DIR_NAME for path in run_dir.iterdir()) or any(
            path.suffix == ".csv" and len(path.read_bytes().splitlines()) > 1 for path in run_dir.iterdir())
        if not learned:
            shutil.rmtree(run_dir, ignore_errors=True)
            for parent in (run_dir.parent, run_dir.parent.parent):  # <out>/<algo>, <out>, if that left them empty
                with suppress(OSError):
                    parent.rmdir()
        raise


def _run(spec: AlgoSpec, agent: Any, env: gym.Env, description: EnvDescription, seed: int, run_dir: Path, *,
         progress: bool, tensorboard: bool | Path, callbacks: Sequence[Callback], start_step: int = 0,
         replay: dict | None = None, stop: StopFlag | None = None,
         on_start: Callable[[Path], None] | None = None, evaluation: EnvDescription | None = None) -> TrainResult:
    """The family's loop, Ctrl-C and SIGTERM turned into a clean stop, then the final checkpoint.
    The checkpoint is written while the stop handlers still hold: a stop signal that lands during
    the save (the SIGTERM a `zoo benchmark` or `zoo tune` parent relays after a terminal's Ctrl-C
    reached both of them) only asks again for the stop under way. Written after them, it killed
    the run mid-save and lost what was learned (CI, 2026-11-26). A second signal of the same kind
    still acts at once; the save is atomic, so that never leaves half a file."""
    with stop_on_interrupt(stop) as stop:
        if on_start is not None:
            on_start(run_dir)
        summary = _run_loop(spec, agent, env, description, seed, run_dir, stop, progress=progress,
                            tensorboard=tensorboard, callbacks=callbacks, start_step=start_step, replay=replay,
                            evaluation=evaluation or description)
        checkpoint = agent.save(run_dir / CHECKPOINT_NAME)
    return TrainResult(run_dir, checkpoint, agent, env, summary, interrupted=stop.requested,
                       stopped_by=stop.signal_name)


def _run_loop(spec: AlgoSpec, agent: Any, env: gym.Env, description: EnvDescription, seed: int, run_dir: Path,
              stop: StopFlag, *, progress: bool, tensorboard: bool | Path, callbacks: Sequence[Callback],
              start_step: int, replay: dict | None, evaluation: EnvDescription) -> dict[str, Any]:
    if spec.family == "bandit":
        from zoo.loops.bandit import bandit_loop

        return bandit_loop(agent, env, agent.config.n_timesteps, seed=seed, run_dir=run_dir, stop=stop)
    if spec.family == "planning":
        from zoo.loops.planning import planning_loop

        return planning_loop(agent, env, seed=seed, run_dir=run_dir)
    config = agent.config
    # Up to 32 evaluation episodes at a time: a larger n_eval_episodes plays in rounds.
    n_eval_envs = min(config.n_eval_episodes, config.n_eval_envs or 32)
    eval_envs = evaluation.make_for_evaluation(n_eval_envs) if config.eval_freq > 0 else None
    every_callback = [*run_callbacks(run_dir, f"{spec.name} {description.env_id}", stop_at_return=config.stop_at_return,
                                     stop_streak=config.stop_streak, progress=progress, tensorboard=tensorboard),
                      *callbacks]
    if spec.family == "off_policy":
        from zoo.loops.off_policy import off_policy_loop

        return off_policy_loop(agent, env, eval_envs, seed=seed, run_dir=run_dir, callbacks=every_callback, stop=stop,
                               start_step=start_step, replay=replay)
    if spec.family == "on_policy":
        from zoo.loops.on_policy import on_policy_loop

        envs = description.make_vector(config.n_envs, config.vectorization)
        return on_policy_loop(agent, envs, eval_envs, seed=seed, callbacks=every_callback, stop=stop,
                              start_step=start_step, run_dir=run_dir)
    raise ValueError(f"no training loop for family {spec.family!r}")


def _resume(spec: AlgoSpec, env_id: str, resume: Path, *, seed: int, overrides: dict[str, Any],
            flags: list[tuple[str, dict[str, Any]]], out_dir: str | Path, progress: bool, tensorboard: bool | Path,
            device: str, callbacks: Sequence[Callback], stop: StopFlag | None,
            on_start: Callable[[Path], None] | None, eval_env_kwargs: dict[str, Any] | None) -> TrainResult:
    if not spec.learns_from_experience:
        raise ZooError(f"{spec.name} learns in one go ({spec.family}); there is nothing to resume.")
    checkpoint = _checkpoint_to_resume(resume, spec.name, env_id)
    metadata, arrays = read_checkpoint(checkpoint)  # read once: its config first, then its arrays
    check_compatible(metadata, checkpoint, algo=spec.name, env_id=env_id)
    previous_steps = int(metadata.get("num_timesteps", 0))
    values = dict(metadata["config"])
    config = saved = config_with_flags(spec, values, source=f"--resume {resume}")
    # each named in its errors, as resolve_hyperparams does
    for source, layer in [(getattr(overrides, "flag", "--hp"), overrides), *flags]:
        env_keys = sorted({ENV_KWARGS_KEY, ENV_WRAPPERS_KEY} & set(layer))
        if env_keys:  # the config has no such fields: the run's env is in its checkpoint's metadata
            what = "--env-kwargs" if source == "--env-kwargs" else f"{' and '.join(env_keys)} from {source}"
            raise ZooError(f"--resume trains on the env the run was made with ({env_keys[0]} as in its "
                           f"config.yml); drop {what}, or start a new run.")
        if layer:
            values.update(layer)
            config = config_with_flags(spec, values, source=source)
            _refuse_another_network(saved, config, source, checkpoint)
    if config.n_timesteps <= previous_steps:
        raise ZooError(f"{checkpoint} has trained {previous_steps} steps already, n_timesteps is "
                       f"{config.n_timesteps}: pass a larger total with --steps.")
    # weights, optimizer state, statistics and num_timesteps; the env as the run described it
    set_training_threads(getattr(config, "n_threads", 0))  # as a fresh run: before any network is built
    agent: BaseAgent = agent_from_checkpoint({**metadata, "env_id": env_id}, arrays, checkpoint, config=config,
                                             seed=seed, device=device)
    description = env_of(agent)  # built for env_id, with the run's kwargs and wrappers
    env = description.make()
    try:
        check_compatible(metadata, checkpoint, observation_space=env.observation_space, action_space=env.action_space)
        _refuse_endless_episodes(description, eval_env_kwargs, config, f"{checkpoint}'s env_kwargs (the run's env)")
        evaluation = _evaluation_env(description, eval_env_kwargs, env, config.eval_freq)
    except BaseException:
        env.close()
        raise
    replay_path = replay_buffer_beside(checkpoint)
    replay = read_arrays(replay_path, "a replay buffer") if spec.family == "off_policy" and replay_path.exists() \
        else None  # read (and refused if bad) before the new run folder exists
    run_dir = new_run_dir(out_dir, spec.name, env_id)
    write_run_config(run_dir, {
        "algo": spec.name, "env_id": env_id, "seed": seed, "device": agent.device_name,
        "env_kwargs": agent.env_kwargs, "env_wrappers": agent.env_wrappers,
        **({"eval_env_kwargs": dict(eval_env_kwargs)} if eval_env_kwargs else {}),
        "hyperparams": dataclasses.asdict(config), "resumed_from": str(checkpoint),
        "resumed_at_step": previous_steps,
    })
    with _discard_if_refused(run_dir):
        result = _run(spec, agent, env, description, seed, run_dir, progress=progress, tensorboard=tensorboard,
                      callbacks=callbacks, start_step=agent.num_timesteps, replay=replay, stop=stop,
                      on_start=on_start, evaluation=evaluation)
    result.summary["resumed_from"] = str(checkpoint)
    result.summary["resumed_from_step"] = previous_steps
    result.summary["replay_buffer_restored"] = replay is not None
    return result


# What the saved networks are (and the observations they were trained on): a resumed run takes
# them from its checkpoint, so another value would be refused on a shape, or, for an
# activation or observation normalisation of the same shape, load and train on silently wrong
# (ReLU weights under tanh); init and log_std_init make fresh networks only, and would do nothing.
NETWORK_KEYS = ("net_arch", "activation", "init", "log_std_init", "dueling", "twin_critics", "use_sde",
                "normalize_observations", "backbone", "backbone_options", "pixels", "grayscale", "resize",
                "frame_stack")


def _refuse_another_network(saved: Any, config: Any, source: str, checkpoint: Path) -> None:
    for key in NETWORK_KEYS:
        if hasattr(saved, key) and getattr(config, key) != getattr(saved, key):
            raise ZooError(f"{source}: {key} cannot change on --resume: {checkpoint}'s networks have "
                           f"{brief(getattr(saved, key))} and go on as they are; train a new run for another {key}.")


def _checkpoint_to_resume(resume: Path, algo: str, env_id: str) -> Path:
    """A checkpoint file, or a run folder's model.zip; a run killed before its final save (no
    model.zip: SIGKILL, out of memory, a power cut) goes on from its latest periodic checkpoint."""
    checkpoint = checkpoint_file(resume)
    if checkpoint.exists():
        return checkpoint
    if resume.is_dir():
        refuse_folder_of_runs(resume, "--resume", algo, env_id)
        run_dir = resume.parent if resume.name == CHECKPOINTS_DIR_NAME else resume  # RUN_DIR/checkpoints works too
        periodic = latest_periodic_checkpoint(run_dir)
        if periodic is not None:
            return periodic
        best = run_dir / BEST_CHECKPOINT_NAME
        hint = (f" It has {best.name}, the best evaluation's agent: --resume {best} goes on from that one."
                if best.is_file() else "")
        raise ZooError(f"--resume {resume}: that run has no {CHECKPOINT_NAME} (it ended before its final save) and "
                       f"no periodic checkpoints (save_freq).{hint}")
    raise ZooError(f"--resume {resume}: there is no run folder or checkpoint there.")
