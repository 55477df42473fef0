"""The `zoo` command line: parses, calls the library, prints. No training logic lives here."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zoo.errors import ZooError, brief
from zoo.interrupt import EXIT_CODES as INTERRUPTED_EXIT_CODES
from zoo.startup import import_torch

app = typer.Typer(
    name="zoo",
    help="Train, evaluate and watch reinforcement-learning agents on Gymnasium envs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: a message's lines are never broken by Rich (the terminal wraps them), so a path or
# id in one stays whole for copying, and for whoever reads the output with grep. In CI
# (2026-11-27) "packaged .../b\nest_model.zip" was cut where an 80-column default fell. Tables
# still fit the width.
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)


def _friendly_errors(command):
    """One clear line for a user mistake, exit code 1, no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ZooError as error:
            # escape: text such as "pip install 'zoo[benchmark]'" is not Rich markup.
            error_console.print(f"[bold red]error:[/] {escape(_in_the_users_spelling(str(error)))}",
                                highlight=False)
            raise typer.Exit(1) from None

    return wrapper


# The words main() ran the app on (after rl_zoo_arguments): which of a flag's names the user typed
_command_line: list[str] = []


def _in_the_users_spelling(message: str) -> str:
    """A message naming a flag by zoo's name for it (--workers, --steps) where the user typed
    another of its names (RL Zoo's --n-jobs, -n): with the name typed, which the user knows as
    theirs ("--n-jobs must be at least 1"). Looked up only when an error is printed."""
    import typer.main

    commands = getattr(typer.main.get_command(app), "commands", {})
    command = next((commands[word] for word in _command_line if word in commands), None)
    if command is None:
        return message
    typed = {word.partition("=")[0] for word in _command_line if word.startswith("-")}
    for parameter in command.params:
        names = list(getattr(parameter, "opts", []))
        alias = next((name for name in names[1:] if name in typed), None)
        if alias is not None and names[0] not in typed:  # "-f/--runs-dir" as one: "--folder", not "-f/--folder"
            spellings = "|".join(map(re.escape, names))
            message = re.sub(rf"(?<![\w-])(?:(?:{spellings})/)*{re.escape(names[0])}(?:/(?:{spellings}))*(?![\w-])",
                             alias, message)
    return message


def _a_path_not_a_flag(value: Optional[Path | str]) -> Optional[Path | str]:
    """For the options that take a path: Click takes the word after an option as its value even
    when it is another flag (`zoo enjoy ... --video --episodes 1` recorded to a file named
    --episodes and then failed on the '1' left over, naming neither)."""
    if value is not None and str(value).startswith("--"):
        raise typer.BadParameter(f"takes a path right after it; got the flag '{value}' (the path is missing).")
    return value


def _path_option(*names: str, **settings) -> typer.models.OptionInfo:
    return typer.Option(*names, callback=_a_path_not_a_flag, **settings)


AlgoArg = Annotated[str, typer.Argument(help="Algorithm, e.g. dqn, value_iteration (see `zoo list`; RL Zoo's "
                                             "--algo ppo works too).")]
EnvArg = Annotated[str, typer.Argument(help="Gymnasium env id, e.g. CartPole-v1 or package:EnvId (RL Zoo's --env "
                                            "works too).")]
PathOpt = Annotated[
    Optional[Path],
    _path_option("--path", help="A run directory or checkpoint file; default: latest run, then trained/."),
]
RunsOpt = Annotated[Optional[Path], _path_option("--runs-dir", "-f", "--folder",
                                                 help="Where `zoo train` put its runs (default: runs; -f, --folder: "
                                                      "RL Zoo's). Named, its runs alone are played, not trained/'s.")]
RUNS = Path("runs")
HpOpt = Annotated[
    Optional[list[str]], typer.Option("--hp", help="Override a hyperparameter: --hp key=value (repeatable).")
]
# RL Zoo's `--hyperparams key:value ...`, as main() spells it for Click (rl_zoo_arguments)
RlZooHpOpt = Annotated[Optional[list[str]], typer.Option("--rl-zoo-hyperparam", hidden=True)]
HyperparamsOpt = Annotated[
    Optional[str],
    _path_option("--hyperparams", "-params", "--conf-file", "-conf",
                 help="Another hyperparameter set: a shipped set's name (rl_zoo) or a YAML path (-params, "
                      "--conf-file, -conf: RL Zoo's)."),
]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Env seed; default: the agent's training seed.")]
LoadBestOpt = Annotated[
    bool, typer.Option("--load-best", help="The run's best_model.zip (its best evaluation), not its final model."),
]
LoadCheckpointOpt = Annotated[
    Optional[int], typer.Option("--load-checkpoint", help="The run's periodic checkpoint of this env step "
                                "(zoo train --save-freq)."),
]
LoadLastOpt = Annotated[
    bool, typer.Option("--load-last-checkpoint", help="The run's latest periodic checkpoint."),
]
ExpIdOpt = Annotated[
    Optional[int], typer.Option("--exp-id", help="RL Zoo's: the run RUNS_DIR/<algo>/<env>_N (0: the latest, as "
                                "without it)."),
]
PlayThreadsOpt = Annotated[
    Optional[int], typer.Option("--num-threads", min=0, help="Torch (and BLAS) threads for the agent's networks (RL "
                                "Zoo's; 0: leave them as they are).")
]
# tune's, and train's for --trial-id
StorageOpt = Annotated[
    Optional[str], typer.Option("--storage", help="A database URL Optuna takes (e.g. postgresql+psycopg://USER@HOST/"
                                "DB: workers on many machines join one study), or a journal file FILE.log (RL Zoo's "
                                "spelling). Default: a journal file in the study folder.")
]
# train's and tune's (every trial's env, and its evaluations')
EnvKwargsOpt = Annotated[
    Optional[list[str]], typer.Option("--env-kwargs", help="A keyword argument for gym.make, KEY:VALUE (repeatable; "
                                      "RL Zoo's), over the entry's env_kwargs.")
]
EvalEnvKwargsOpt = Annotated[
    Optional[list[str]], typer.Option("--eval-env-kwargs", help="A keyword argument for gym.make of the evaluation "
                                      "envs alone, KEY:VALUE (repeatable; RL Zoo's), over the training env's.")
]
PlayEnvKwargsOpt = Annotated[
    Optional[list[str]], typer.Option("--env-kwargs", help="A keyword argument for gym.make, KEY:VALUE "
                                      "(repeatable; RL Zoo's), over the agent's own env_kwargs.")
]
FromHubOpt = Annotated[
    Optional[str], typer.Option("--from-hub", help="Download this Hub repo (ORG/NAME) and play its agent."),
]
DeviceOpt = Annotated[
    str,
    typer.Option("--device", help="auto, cpu, cuda or cuda:N. auto: a GPU for CNN agents when there is one, "
                                  "the CPU for MLP agents (faster there)."),
]
EnvPackageOpt = Annotated[
    Optional[list[str]],
    typer.Option("--env-package", "--gym-packages",
                 help="Import this package first, for the envs it registers (repeatable; --gym-packages: RL Zoo's)."),
]


def _import_env_packages(packages: Optional[list[str]]) -> None:
    if packages:
        from zoo.environments import import_env_packages

        import_env_packages(packages)


LIST_TABLE_WIDTH = 110  # `zoo list` as a table from this many columns on


@app.command("list")
@_friendly_errors
def list_command(
    algo: Annotated[Optional[str], typer.Argument(help="An algorithm: list its tuned entries and shipped agents.")
                    ] = None,
    env_package: EnvPackageOpt = None,
):
    """List the algorithms and the registered environments, or one algorithm's entries and agents."""
    _import_env_packages(env_package)
    if algo is not None:
        _list_algo(algo)
        return
    from zoo.registry import ALGOS, synonyms_of

    rows = []
    for spec in ALGOS.values():
        summary = spec.summary if spec.base is None else f"{spec.summary} ({spec.base} with {_flags(spec.flags)})"
        if synonyms_of(spec.name):
            summary += f"; RL Zoo's {', '.join(synonyms_of(spec.name))}"
        rows.append((spec.name, spec.family, ", ".join(spec.observation_spaces), ", ".join(spec.action_spaces),
                     summary))
    if console.width < LIST_TABLE_WIDTH:
        # a table there left its last column a few characters (80 columns: "advan…"): two lines each
        for name, family, observations, actions, summary in rows:
            console.print(f"[bold]{name}[/] ({family}; {observations} -> {actions})", highlight=False)
            console.print(f"    {summary}", highlight=False)
    else:
        table = Table(title="Algorithms")
        for column in ("algo", "family"):
            table.add_column(column, no_wrap=True)
        for column in ("observations", "actions"):  # the MLP agents' six and the on-policy agents' four wrap
            table.add_column(column, max_width=24)
        table.add_column("what it is")
        for row in rows:
            table.add_row(*row)
        console.print(table)

    import gymnasium as gym

    from zoo.environments import register_zoo_envs

    register_zoo_envs()
    import envs

    console.print("[bold]zoo envs:[/] " + ", ".join(envs.ENV_IDS))
    others = sorted(env_id for env_id in gym.envs.registry if env_id not in envs.ENV_IDS)
    console.print("[bold]Gymnasium envs:[/] " + ", ".join(others), highlight=False)


def _list_algo(algo: str) -> None:
    """The envs with a shipped hyperparameter entry for ALGO (by set) or a shipped agent (with its
    recorded evaluation): what `zoo train ALGO ENV` and `zoo enjoy ALGO ENV` take as they are."""
    from zoo.config import shipped_entries
    from zoo.registry import get_algo
    from zoo.runs import shipped_agents

    spec = get_algo(algo)
    entries = shipped_entries(spec)
    agents = shipped_agents(spec.name)
    env_ids = sorted({env for envs in entries.values() for env in envs} | set(agents))
    if not env_ids:
        console.print(f"{spec.name}: no shipped entries or agents; `zoo train {spec.name} ENV` uses its defaults.")
        return
    table = Table(title=f"{spec.name}: shipped hyperparameter entries and agents",
                  caption=f"entries: ours is hyperparams/{spec.hyperparams_name}.yml (no flag), the others "
                          "--hyperparams SET; agents: their recorded evaluation")
    table.add_column("env", no_wrap=True)
    table.add_column("entries")
    table.add_column("trained agent (zoo enjoy)")
    for env_id in env_ids:
        sets = [name or "ours" for name, envs in entries.items() if env_id in envs]
        evaluation = agents.get(env_id, "-")
        if isinstance(evaluation, dict):
            evaluation = (f"{evaluation['mean_return']:.1f} ± {evaluation['std_return']:.1f} "
                          f"({evaluation['episodes']} episodes)")
        table.add_row(env_id, ", ".join(sets) or "-", evaluation)
    console.print(table)


def _flags(flags: dict) -> str:
    return ", ".join(f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
                     for key, value in flags.items())


@app.command()
@_friendly_errors
def check(
    env_id: EnvArg,
    env_kwargs: PlayEnvKwargsOpt = None,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Random steps to play.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the env and of the random actions.")] = 0,
    env_package: EnvPackageOpt = None,
):
    """Check that an env keeps Gymnasium's contract (as SB3's check_env), and list the algorithms that take it."""
    import_torch()  # what the planners and bandit solvers need is checked by their modules, which import it
    _without_windows()
    _import_env_packages(env_package)
    from zoo.config import parse_env_kwargs
    from zoo.env_check import check_env

    report = check_env(env_id, parse_env_kwargs(env_kwargs or []), steps=steps, seed=seed)
    console.print(f"[bold]{escape(env_id)}[/]: observations {escape(report.observation_space)}, actions "
                  f"{escape(report.action_space)}", highlight=False)
    console.print(f"played {report.steps} random steps, {report.episodes} episodes ended", highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for problem in report.problems:
        console.print(f"[bold red]problem:[/] {escape(problem)}", highlight=False)
    console.print(f"algorithms that take it: {', '.join(report.algos) or 'none'}", highlight=False)
    if not report.passed:
        error_console.print(f"[bold red]error:[/] {escape(env_id)} breaks Gymnasium's contract "
                            f"({len(report.problems)} problem(s) above); zoo's runs on it would fail.",
                            highlight=False)
        raise typer.Exit(1)
    console.print(f"{escape(env_id)} keeps Gymnasium's contract.", highlight=False)


@app.command()
@_friendly_errors
def train(
    algo: AlgoArg,
    env_id: EnvArg,
    seed: Annotated[int, typer.Option(help="Seed of the agent and the env (-1: a random one, said and recorded, "
                                           "as RL Zoo's).")] = 0,
    steps: Annotated[Optional[int], typer.Option("--steps", "-n", "--n-timesteps",
                                                 help="Training budget (n_timesteps; -n as in RL Zoo).")] = None,
    hp: HpOpt = None,
    rl_zoo_hp: RlZooHpOpt = None,
    hyperparams: HyperparamsOpt = None,
    out: Annotated[Path, _path_option("--out", "-f", "--log-folder",
                                      help="Root folder of the runs (-f, --log-folder: RL Zoo's).")] = Path("runs"),
    n_envs: Annotated[
        Optional[int], typer.Option("--n-envs", help="Envs stepped together (algos that collect from several).")
    ] = None,
    resume: Annotated[
        Optional[Path], _path_option("--resume", "-i", "--trained-agent",
                                     help="Continue this run (or checkpoint) up to --steps in all (-i, "
                                          "--trained-agent: RL Zoo's).")
    ] = None,
    tensorboard: Annotated[
        bool, typer.Option("--tensorboard", help="Also log the curves to RUN_DIR/tensorboard (extra: tensorboard).")
    ] = False,
    tensorboard_log: Annotated[
        Optional[Path], _path_option("--tensorboard-log", "-tb", help="Log the curves to this folder's "
                                     "<env>/<algo>_<n> instead (-tb: RL Zoo's; extra: tensorboard).")
    ] = None,
    save_freq: Annotated[
        Optional[int], typer.Option("--save-freq", help="A checkpoint every N env steps in RUN_DIR/checkpoints/, "
                                    "what --resume RUN_DIR of a killed run goes on from (save_freq).")
    ] = None,
    eval_freq: Annotated[
        Optional[int], typer.Option("--eval-freq", help="Evaluate the greedy policy every N env steps (eval_freq); "
                                    "0 or -1: never, and so no early stop (stop_at_return).")
    ] = None,
    eval_episodes: Annotated[
        Optional[int], typer.Option("--eval-episodes", help="Episodes per evaluation (n_eval_episodes).")
    ] = None,
    n_eval_envs: Annotated[
        Optional[int], typer.Option("--n-eval-envs", help="Envs an evaluation plays its episodes on at once "
                                    "(n_eval_envs; RL Zoo's). Default: one per episode, up to 32.")
    ] = None,
    save_replay_buffer: Annotated[
        bool, typer.Option("--save-replay-buffer", help="Keep the replay buffer in the run, for --resume "
                                                        "(save_replay_buffer).")
    ] = False,
    num_threads: Annotated[
        Optional[int], typer.Option("--num-threads", help="Torch (and BLAS) threads for training (n_threads; 0: "
                                                        "leave them as they are).")
    ] = None,
    env_kwargs: EnvKwargsOpt = None,
    eval_env_kwargs: EvalEnvKwargsOpt = None,
    vec_env: Annotated[
        Optional[str], typer.Option("--vec-env", help="dummy or subproc (RL Zoo's): the envs of --n-envs stepped in "
                                    "this process or one subprocess each (vectorization: sync, async).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", "-P", help="The progress bar (-P: RL Zoo's); --no-progress "
                                                                 "for logs: the summary lines only.")
    ] = True,
    verbose: Annotated[
        Optional[int], typer.Option("--verbose", min=0, max=2, help="RL Zoo's: 0 is --no-progress, 1 and 2 as "
                                                                    "without it.")
    ] = None,
    track: Annotated[bool, typer.Option("--track", hidden=True)] = False,  # RL Zoo's Weights & Biases: refused
    # RL Zoo's names for its --track run, which its train reads only with --track: accepted with a note
    wandb_project_name: Annotated[Optional[str], typer.Option("--wandb-project-name", hidden=True)] = None,
    wandb_entity: Annotated[Optional[str], typer.Option("--wandb-entity", hidden=True)] = None,
    wandb_group: Annotated[Optional[str], typer.Option("--wandb-group", hidden=True)] = None,
    wandb_tags: Annotated[Optional[list[str]], typer.Option("--wandb-tags", "-tags", hidden=True)] = None,
    uuid: Annotated[bool, typer.Option("--uuid", "-uuid", help="RL Zoo's, against two runs racing for one folder: "
                                       "zoo's runs never race (each claims its number with an exclusive mkdir).")
                    ] = False,
    truncate_last_trajectory: Annotated[Optional[str], typer.Option(
        "--truncate-last-trajectory", help="RL Zoo's, for HER's replay buffers, which zoo has not.")] = None,
    log_interval: Annotated[
        int, typer.Option("--log-interval", min=-1, help="A line on stdout every N training episodes (RL Zoo's; -1, "
                          "its default, and 0: none).")
    ] = -1,
    trial_id: Annotated[
        Optional[int], typer.Option("--trial-id", min=0, help="Train trial N of a zoo tune study (RL Zoo's): its "
                                    "whole config, under --hp and --steps; the study: --study-name, --storage.")
    ] = None,
    study_name: Annotated[
        Optional[str], typer.Option("--study-name", help="The study of --trial-id (default: ALGO-ENV, in "
                                    "OUT/tune/, as zoo tune's).")
    ] = None,
    storage: StorageOpt = None,
    device: DeviceOpt = "auto",
    env_package: EnvPackageOpt = None,
):
    """Train ALGO on ENV with hyperparams/<algo>.yml; writes runs/<algo>/<env>_<n>/."""
    import_torch()
    _without_windows()
    _import_env_packages(env_package)
    from zoo.config import parse_env_kwargs, parse_overrides
    from zoo.grid import policy_grid
    from zoo.runs import periodic_checkpoints
    from zoo.train import train as train_agent

    overrides = parse_overrides(hp or [], rl_zoo_hp or [])
    _check_budget("--steps", steps)
    if resume is not None and hyperparams is not None:
        raise ZooError("--resume goes on with the run's own hyperparameters; drop --hyperparams (--hp still applies).")
    if track:
        raise ZooError("--track (RL Zoo's Weights & Biases logging) is not in zoo, which sends nothing over the "
                       "network: the curves are in the run's progress.csv and evaluations.csv, for `zoo plot`, and "
                       "in TensorBoard with -tb DIR.")
    if seed < -1:
        raise ZooError(f"--seed must be a whole number from 0 to 2**32 - 1, or -1 for a random one, got {seed}.")
    if seed == -1:  # RL Zoo's default: a seed drawn for the run; said, and config.yml records it
        import secrets

        seed = secrets.randbelow(2**32)
        console.print(f"note: --seed -1 drew seed {seed}; --seed {seed} trains this run again.", highlight=False)
    wandb_flags = [flag for flag, given in (("--wandb-project-name", wandb_project_name),
                                            ("--wandb-entity", wandb_entity), ("--wandb-group", wandb_group),
                                            ("--wandb-tags", wandb_tags)) if given]
    if wandb_flags:  # RL Zoo reads them only with --track, refused above
        console.print(f"note: {', '.join(wandb_flags)} name{'s' if len(wandb_flags) == 1 else ''} a Weights & "
                      "Biases run, which RL Zoo makes only with --track: nothing to do here.", highlight=False)
    for noted, flag, why in ((uuid, "--uuid", "zoo's run folders never race, each claims its number with an "
                              "exclusive mkdir"),
                             (truncate_last_trajectory is not None, "--truncate-last-trajectory",
                              "zoo has no HER replay buffer to truncate")):
        if noted:
            console.print(f"note: {flag} has nothing to do here: {why}.", highlight=False)
    callbacks = []
    if log_interval > 0:
        from zoo.callbacks import EpisodeLines
        from zoo.registry import get_algo

        if not get_algo(algo).learns_from_experience:
            raise ZooError(f"{get_algo(algo).name} has no training episodes to log; --log-interval is for the "
                           "deep-RL algos.")
        callbacks.append(EpisodeLines(log_interval))
    if trial_id is None and (study_name is not None or storage is not None):
        raise ZooError("--study-name and --storage name the study of --trial-id N (the trial to train), or with "
                       "-optimize the study to search in; give one of them.")
    if trial_id is not None:
        for flag, given in (("--resume", resume), ("--hyperparams", hyperparams)):
            if given is not None:
                raise ZooError(f"--trial-id trains the trial's whole config; drop {flag} (--hp still applies).")
        overrides = _trial_overrides(algo, env_id, trial_id, study_name, storage, out, overrides)

    def announce(run_dir: Path) -> None:  # once the hyperparameters, env and device are accepted
        from zoo.registry import get_algo

        console.print(f"Training [bold]{escape(get_algo(algo).name)}[/] on [bold]{escape(env_id)}[/] (seed {seed}) "
                      f"in {escape(str(run_dir))}")

    result = train_agent(algo, env_id, seed=seed, n_timesteps=steps, overrides=overrides, out_dir=out,
                         progress=progress and verbose != 0, hyperparams=hyperparams, resume=resume,
                         tensorboard=tensorboard_log if tensorboard_log is not None else tensorboard,
                         device=device, on_start=announce, callbacks=callbacks, n_envs=n_envs, save_freq=save_freq,
                         eval_freq=eval_freq, eval_episodes=eval_episodes, n_eval_envs=n_eval_envs,
                         save_replay_buffer=save_replay_buffer,
                         n_threads=num_threads, env_kwargs=parse_env_kwargs(env_kwargs or []), vec_env=vec_env,
                         eval_env_kwargs=parse_env_kwargs(eval_env_kwargs or [], "--eval-env-kwargs"))
    if resume is not None:
        console.print(f"resumed at step {result.summary['resumed_from_step']} from "
                      f"{escape(result.summary['resumed_from'])}"
                      + (" with its replay buffer" if result.summary["replay_buffer_restored"] else ""))
    summary = result.summary
    if "final_regret" in summary:
        console.print(f"final cumulative regret after {summary['steps']} pulls: [bold]{summary['final_regret']:.2f}[/]")
    if "iterations" in summary:  # a planner: show its policy on the grid
        grid = policy_grid(result.env, result.agent.policy)
        if grid:
            console.print(grid, highlight=False)
        console.print(f"converged in {summary['iterations']} iterations; greedy policy return "
                      f"{summary['mean_return']:.2f} ± {summary['std_return']:.2f}")
    if "steps_per_second" in summary:
        first = summary.get("resumed_from_step", 0)  # a resumed run's time and speed are of its own steps
        done = f"{summary['steps'] - first} steps" + (f" ({first} -> {summary['steps']})" if first else "")
        returns = (f"recent mean return {summary['recent_mean_return']:.2f}" if summary["episodes"]
                   else "no episode ended yet")
        console.print(f"{done} in {summary['seconds']:.1f} s "
                      f"({summary['steps_per_second']:.0f} steps/s), {summary['episodes']} episodes, {returns}")
        if summary.get("best_eval_return") is not None:
            console.print(f"best evaluation return {summary['best_eval_return']:.2f} (best_model.zip)")
        if summary.get("updates") == 0 and not result.interrupted:  # SB3 is silent here; a user thinks it trained
            config = result.agent.config
            error_console.print(f"[yellow]No gradient update ran in these {summary['steps'] - first} steps[/] "
                                f"(learning_starts {config.learning_starts}, train_freq "
                                f"{_train_frequency(config)})"
                                + ("" if first else ": the saved agent has learned nothing") + ".", highlight=False)
    result.env.close()
    console.print(f"saved to {escape(str(result.checkpoint))}")
    periodic = periodic_checkpoints(result.run_dir)
    if periodic:
        console.print(f"{len(periodic)} periodic checkpoint(s) in {escape(str(periodic[0][1].parent))}")
    if tensorboard or tensorboard_log is not None:
        logdir = tensorboard_log if tensorboard_log is not None else result.run_dir.parent
        console.print(f"curves: tensorboard --logdir {escape(str(logdir))}")
    if result.interrupted:
        code = INTERRUPTED_EXIT_CODES.get(result.stopped_by or "SIGINT", 130)
        error_console.print(f"[yellow]Interrupted by {result.stopped_by or 'a signal'}:[/] saved what was learned "
                            f"so far (step {result.agent.num_timesteps}); exit code {code}.", highlight=False)
        raise typer.Exit(code)


def _study_job(algo: str, env_id: str, study_name: Optional[str], storage: Optional[str], out: Path, **job: Any):
    """The TuneJob of a study named as zoo tune names it: --study-name, default ALGO-ENV, in
    OUT/tune/NAME/ (its journal there unless --storage says otherwise)."""
    from zoo.registry import get_algo
    from zoo.runs import env_dir_name
    from zoo.tune import TuneJob

    spec = get_algo(algo)
    name = study_name or f"{spec.name}-{env_dir_name(env_id)}"
    if env_dir_name(name).strip(".") == "":  # its folder is OUT/tune/<name>: '..' would be OUT itself
        raise ZooError(f"--study-name {name!r} names no folder of its own (the study goes to OUT/tune/NAME); "
                       "choose a name with a letter or digit.")
    return TuneJob(algo=spec.name, env_id=env_id, study_name=name, study_dir=out / "tune" / env_dir_name(name),
                   storage=storage, **job)


def _trial_overrides(algo: str, env_id: str, trial_id: int, study_name: Optional[str], storage: Optional[str],
                     out: Path, overrides: Any) -> Any:
    """--trial-id's entry under the user's --hp, one layer named by both flags."""
    from zoo.config import Overrides
    from zoo.tune import require_optuna, trial_entry

    require_optuna()
    job = _study_job(algo, env_id, study_name, storage, out, n_trials=0, goal_from_study=True)
    layer = Overrides({**trial_entry(job, trial_id), **overrides})
    layer.flag = f"--trial-id {trial_id} (study '{job.study_name}')" + (f" and {overrides.flag}" if overrides else "")
    return layer


def _train_frequency(config) -> str:
    every, unit = config.train_every
    return str(every) if unit == "step" else f"{every} episode{'s' if every > 1 else ''}"


def _without_windows() -> None:
    """For a command that opens no window: pygame renders rgb_array frames (a pixel agent's
    observations, a video) through SDL, whose default video driver looks for a display and,
    on a headless machine, prints "error: XDG_RUNTIME_DIR is invalid or not set" to stderr, a
    line that reads like ours. The dummy driver renders the same frames (checked: Pendulum's,
    equal) and says nothing. A driver the user chose is kept."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _check_budget(flag: str, steps: Optional[int]) -> None:
    """A step budget given on the command line, refused naming its flag (not the --hp layer it becomes)."""
    if steps is not None and steps < 1:
        raise ZooError(f"{flag} must be at least 1, got {steps}.")
    if steps is not None and steps > 2**53:
        raise ZooError(f"{flag} is out of range (at most 2**53 env steps), got {steps}.")


def _checkpoint_choice(load_best: bool, load_checkpoint: Optional[int], load_last: bool):
    """RL Zoo's three flags as one zoo.runs.CheckpointChoice (at most one of them)."""
    asked = [flag for flag, given in (("--load-best", load_best), ("--load-checkpoint", load_checkpoint is not None),
                                      ("--load-last-checkpoint", load_last)) if given]
    if len(asked) > 1:
        raise ZooError(f"Give one of {' and '.join(asked)}: each picks the checkpoint to play.")
    if load_checkpoint is not None and load_checkpoint < 0:
        raise ZooError(f"--load-checkpoint takes the env step of a periodic checkpoint, got {load_checkpoint}.")
    return "best" if load_best else "last" if load_last else load_checkpoint


def _run_of_exp_id(algo: str, env_id: str, runs_dir: Optional[Path], exp_id: Optional[int], path: Optional[Path],
                   from_hub: Optional[str]) -> Optional[Path]:
    """--path, or RL Zoo's --exp-id N as the run folder it names (0: None, the latest run)."""
    if exp_id is None:
        return path
    if path is not None or from_hub is not None:
        raise ZooError(f"Give either --exp-id or {'--path' if path is not None else '--from-hub'}, not both.")
    from zoo.registry import get_algo
    from zoo.runs import run_of_exp_id

    return run_of_exp_id(runs_dir or RUNS, get_algo(algo).name, env_id, exp_id)


def _set_threads(num_threads: Optional[int]) -> None:
    if num_threads:
        from zoo.threads import set_training_threads

        set_training_threads(num_threads)


def _open(algo: str, env_id: str, path: Optional[Path], runs_dir: Optional[Path], render: bool = False,
          video: bool = False, from_hub: Optional[str] = None, device: str = "cpu", which=None,
          env_kwargs: Optional[list[str]] = None, plays: Optional[tuple[str, str]] = None):
    from zoo.config import parse_env_kwargs
    from zoo.play import open_agent

    # a runs folder named (-f) is where the agent must come from: no falling back to trained/
    return open_agent(algo, env_id, path, runs_dir=runs_dir or RUNS, shipped=runs_dir is None, from_hub=from_hub,
                      render=render, video=video, device=device, which=which,
                      env_kwargs=parse_env_kwargs(env_kwargs or []), plays=plays)


# evaluate's and enjoy's (RL Zoo's enjoy --n-envs); at most zoo.contracts.MAX_EVAL_ENVS (a module that imports torch)
NEnvsOpt = Annotated[
    int, typer.Option("--n-envs", min=1, max=256, help="Play the episodes on N envs at once, in lockstep (one batched "
                      "forward pass a step; deterministic, without a window, video or -n).")
]


def _play_on_copies(opened, n_envs: int, episodes: int, seed: int):
    """--n-envs N: the episodes dealt to N envs played in lockstep (SB3's evaluate_policy on a
    VecEnv alike), env i seeded with seed + i."""
    from zoo.evaluation import evaluate_in_lockstep

    envs = opened.copies(min(n_envs, episodes))  # an env more than the episodes would play none
    try:
        return evaluate_in_lockstep(opened.agent, envs, episodes, seed=seed)
    finally:
        for env in envs:
            env.close()


def _refuse_with_n_envs(n_envs: int, **given: bool) -> None:
    for flag, on in given.items():
        if n_envs > 1 and on:
            raise ZooError(f"--n-envs {n_envs} plays deterministic episodes in lockstep, without a window or a "
                           f"recording; drop {flag} (or --n-envs).")


def _results_table(title: str, evaluation) -> Table:
    stats = evaluation.to_dict()
    table = Table(title=title)
    for column in ("episodes", "mean ± std", "min", "max", "mean length"):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats["episodes"]),
        f"{stats['mean_return']:.2f} ± {stats['std_return']:.2f}",
        f"{stats['min_return']:.2f}",
        f"{stats['max_return']:.2f}",
        f"{stats['mean_length']:.1f}",
    )
    return table


@app.command()
@_friendly_errors
def evaluate(
    algo: AlgoArg,
    env_id: EnvArg,
    episodes: Annotated[int, typer.Option(help="Episodes to play.")] = 10,
    path: PathOpt = None,
    runs_dir: RunsOpt = None,
    exp_id: ExpIdOpt = None,
    seed: SeedOpt = None,
    deterministic: Annotated[bool, typer.Option("--deterministic/--stochastic")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    n_envs: NEnvsOpt = 1,
    env_kwargs: PlayEnvKwargsOpt = None,
    num_threads: PlayThreadsOpt = None,
    from_hub: FromHubOpt = None,
    load_best: LoadBestOpt = False,
    load_checkpoint: LoadCheckpointOpt = None,
    load_last_checkpoint: LoadLastOpt = False,
    device: DeviceOpt = "auto",
    env_package: EnvPackageOpt = None,
):
    """Play episodes with a trained agent and print mean ± std of the return."""
    import_torch()
    _without_windows()
    _import_env_packages(env_package)
    from zoo.evaluation import evaluate_agent

    if episodes < 1:
        raise ZooError("--episodes must be at least 1.")
    _refuse_with_n_envs(n_envs, **{"--stochastic": not deterministic})
    which = _checkpoint_choice(load_best, load_checkpoint, load_last_checkpoint)
    path = _run_of_exp_id(algo, env_id, runs_dir, exp_id, path, from_hub)
    _set_threads(num_threads)
    opened = _open(algo, env_id, path, runs_dir, from_hub=from_hub, device=device, which=which, env_kwargs=env_kwargs,
                   plays=("`zoo evaluate` plays", "(--env-kwargs {example})"))
    checkpoint, agent, env = opened.checkpoint, opened.agent, opened.env
    # Default seed: the training seed, which for a bandit is the problem the agent learned.
    if n_envs > 1:
        evaluation = _play_on_copies(opened, n_envs, episodes, agent.seed if seed is None else seed)
    else:
        evaluation = evaluate_agent(agent, env, episodes, deterministic=deterministic,
                                    seed=agent.seed if seed is None else seed)
        env.close()
    if as_json:
        print(json.dumps({"algo": agent.algo, "env_id": env_id, "checkpoint": str(checkpoint),
                          **evaluation.to_dict()}))
    else:
        console.print(_results_table(f"{agent.algo} on {env_id} ({checkpoint})", evaluation))


@app.command()
@_friendly_errors
def enjoy(
    algo: AlgoArg,
    env_id: EnvArg,
    render: Annotated[
        bool, typer.Option("--render/--no-render", help="Show the agent: ansi text for text envs, else a window "
                                                        "(--no-render: RL Zoo's spelling of the default).")
    ] = False,
    episodes: Annotated[Optional[int], typer.Option(help="Episodes to play (default 3; with -n, as many as fit).")
                        ] = None,
    n_timesteps: Annotated[Optional[int], typer.Option("--n-timesteps", "-n", help="Env steps to play in all (RL "
                                                       "Zoo's -n); an episode cut short is not in the results.")
                           ] = None,
    path: PathOpt = None,
    runs_dir: RunsOpt = None,
    exp_id: ExpIdOpt = None,
    seed: SeedOpt = None,
    deterministic: Annotated[bool, typer.Option("--deterministic/--stochastic")] = True,
    video: Annotated[
        Optional[Path], _path_option("--video", help="Record to this .mp4 or .gif instead (headless).")
    ] = None,
    env_kwargs: PlayEnvKwargsOpt = None,
    num_threads: PlayThreadsOpt = None,
    from_hub: FromHubOpt = None,
    load_best: LoadBestOpt = False,
    load_checkpoint: LoadCheckpointOpt = None,
    load_last_checkpoint: LoadLastOpt = False,
    n_envs: NEnvsOpt = 1,
    progress: Annotated[
        bool, typer.Option("--progress", "-P", help="A progress bar of the env steps played (RL Zoo's).")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", min=0, max=2, help="RL Zoo's: 0 prints nothing but errors; 1 and 2 the "
                                                          "episodes and their table (the default).")
    ] = 1,
    reward_log: Annotated[
        Optional[Path], _path_option("--reward-log", help="Also log the episodes to this folder's 0.monitor.csv "
                                     "(SB3's Monitor format, RL Zoo's flag).")
    ] = None,
    norm_reward: Annotated[
        bool, typer.Option("--norm-reward", help="RL Zoo's, for agents trained with VecNormalize's reward "
                                                 "scaling, which zoo has not: the returns are the env's.")
    ] = False,
    custom_objects: Annotated[
        bool, typer.Option("--custom-objects", help="RL Zoo's, for SB3 pickles of another Python: zoo's "
                                                    "checkpoints hold none.")
    ] = False,
    device: DeviceOpt = "auto",
    env_package: EnvPackageOpt = None,
):
    """Watch a trained agent play (latest run, else the shipped one in trained/)."""
    import_torch()
    _import_env_packages(env_package)
    from zoo.evaluation import evaluate_agent

    if episodes is not None and episodes < 1:
        raise ZooError("--episodes must be at least 1.")
    if n_timesteps is not None and n_timesteps < 1:
        raise ZooError(f"-n/--n-timesteps must be at least 1 (env steps to play), got {n_timesteps}.")
    if episodes is None:
        episodes = 3 if n_timesteps is None else sys.maxsize
    if video is not None and render:
        raise ZooError("--video records without a window; drop --render.")
    _refuse_with_n_envs(n_envs, **{"--render": render, "--video": video is not None,
                                   "--stochastic": not deterministic, "-n": n_timesteps is not None,
                                   "-P": progress, "--reward-log": reward_log is not None})
    if video is not None:
        from zoo.video import check_video_path

        check_video_path(video)
    if not render:
        _without_windows()
    which = _checkpoint_choice(load_best, load_checkpoint, load_last_checkpoint)
    path = _run_of_exp_id(algo, env_id, runs_dir, exp_id, path, from_hub)
    _set_threads(num_threads)
    if reward_log is not None:
        from zoo.rl_zoo_logs import check_monitor_folder

        check_monitor_folder(reward_log)  # before the agent is opened and announced
    opened = _open(algo, env_id, path, runs_dir, render, video is not None, from_hub, device, which, env_kwargs,
                   None if n_timesteps is not None else ("`zoo enjoy` plays", "(--env-kwargs {example}), or play -n N "
                                                         "env steps"))
    checkpoint, agent, env = opened.checkpoint, opened.agent, opened.env
    say = console.print if verbose > 0 else _silent
    say(f"Playing [bold]{agent.algo}[/] on [bold]{escape(env_id)}[/] from {escape(str(checkpoint))}")
    for given, flag, why in ((norm_reward, "--norm-reward", "zoo's agents never learn on scaled rewards (SB3's "
                              "VecNormalize): the returns shown are the env's"),
                             (custom_objects, "--custom-objects", "zoo's checkpoints hold no pickled objects to "
                              "replace")):
        if given:
            say(f"note: {flag} has nothing to do here: {why}.")
    with _monitor_log(reward_log, env_id, env) as log_episode, _steps_bar(progress, n_timesteps) as count_step:
        if n_envs > 1:
            evaluation = _play_on_copies(opened, n_envs, episodes, agent.seed if seed is None else seed)
        elif video is not None:
            from zoo.interrupt import Terminated, sigterm_raises
            from zoo.video import record_agent

            try:
                with sigterm_raises() as raise_if_terminated:
                    def each_step() -> None:  # between two frames: a SIGTERM never cuts one's write to ffmpeg
                        if count_step is not None:
                            count_step()
                        raise_if_terminated()

                    evaluation, n_frames = record_agent(agent, env, video, episodes, deterministic=deterministic,
                                                        seed=agent.seed if seed is None else seed,
                                                        max_steps=n_timesteps, on_env_step=each_step,
                                                        on_episode=log_episode)
            except Terminated:
                error_console.print(f"Stopped by SIGTERM: {escape(str(video))} not written.", highlight=False)
                raise typer.Exit(INTERRUPTED_EXIT_CODES["SIGTERM"]) from None
            finally:
                env.close()
        else:
            on_step = None
            if env.render_mode == "ansi":
                delay = 1.0 / env.metadata.get("render_fps", 4) if sys.stdout.isatty() else 0.0

                def on_step(env):
                    print(env.render(), end="", flush=True)
                    time.sleep(delay)

            try:
                evaluation = evaluate_agent(agent, env, episodes, deterministic=deterministic,
                                            seed=agent.seed if seed is None else seed, on_step=on_step,
                                            max_steps=n_timesteps, on_env_step=count_step, on_episode=log_episode)
            finally:
                env.close()
    if video is None:
        for number, (episode_return, length) in enumerate(zip(evaluation.returns, evaluation.lengths), 1):
            say(f"episode {number}: return {episode_return:.2f}, length {length}")
    if verbose > 0:
        _print_results(f"{agent.algo} on {env_id}", evaluation, n_timesteps)
    if video is not None:
        say(f"recorded {n_frames} frames to {escape(str(video))}")
    if reward_log is not None:
        say(f"episodes logged to {escape(str(reward_log / '0.monitor.csv'))}")


def _silent(*args: Any, **kwargs: Any) -> None:
    """console.print's stand-in for --verbose 0."""


@contextlib.contextmanager
def _monitor_log(folder: Optional[Path], env_id: str, env) -> Iterator[Optional[Callable[[float, int], None]]]:
    """enjoy --reward-log: SB3's Monitor file of the episodes, written as they end (None: no log).
    Opened before the play: a folder that cannot take it is said before the first episode."""
    if folder is None:
        yield None
        return
    from zoo.rl_zoo_logs import MonitorLog

    try:
        log = MonitorLog(folder, env_id)
    except BaseException:
        env.close()
        raise
    try:
        yield log.add
    finally:
        log.close()


@contextlib.contextmanager
def _steps_bar(shown: bool, total: Optional[int]) -> Iterator[Optional[Callable[[], None]]]:
    """enjoy -P: a Rich bar of the env steps played (of -n's, when given), as RL Zoo's tqdm;
    yields the call for each step (None when not shown)."""
    if not shown:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]playing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("steps", total=total)
        yield lambda: bar.advance(task)


def _print_results(title: str, evaluation, n_timesteps: Optional[int]) -> None:
    if evaluation.returns:
        console.print(_results_table(title, evaluation))
    else:  # -n shorter than an episode
        console.print(f"{title}: no episode ended within the {n_timesteps} steps played (-n).")


@app.command()
@_friendly_errors
def upload(
    algo: AlgoArg,
    env_id: EnvArg,
    repo_id: Annotated[Optional[str], typer.Option("--repo-id", help="The Hub model repo, ORG/NAME.")] = None,
    organization: Annotated[Optional[str], typer.Option("--organization", "-orga", help="RL Zoo's: the repo is "
                                                        "ORG/NAME, NAME from -name.")] = None,
    repo_name: Annotated[Optional[str], typer.Option("--repo-name", "-name", help="RL Zoo's: the NAME of "
                                                     "-orga ORG's repo (default: ALGO-ENV).")] = None,
    commit_message: Annotated[Optional[str], typer.Option("--commit-message", "-m", help="The Hub commit's "
                                                          "message.")] = None,
    path: PathOpt = None,
    runs_dir: RunsOpt = None,
    exp_id: ExpIdOpt = None,
    out: Annotated[
        Optional[Path], _path_option("--out", help="Write the packaged folder here instead of pushing it.")
    ] = None,
    episodes: Annotated[int, typer.Option(help="Episodes for the reported result.")] = 10,
    video: Annotated[bool, typer.Option("--video/--no-video", " /--no-render", help="Include a replay video "
                                        "(mp4); --no-render is RL Zoo's spelling of --no-video.")] = True,
    video_steps: Annotated[Optional[int], typer.Option("--n-timesteps", "-n", help="The video's length in env "
                                                       "steps, over as many episodes as fit (RL Zoo's -n; "
                                                       "default: one episode).")] = None,
    deterministic: Annotated[bool, typer.Option("--deterministic/--stochastic", help="The evaluation's and the "
                                                "video's actions.")] = True,
    seed: SeedOpt = None,
    env_kwargs: PlayEnvKwargsOpt = None,
    n_envs: Annotated[int, typer.Option("--n-envs", min=1, max=256, help="The evaluation's episodes dealt to N "
                                        "envs played in lockstep, as evaluate --n-envs (deterministic).")] = 1,
    num_threads: PlayThreadsOpt = None,
    verbose: Annotated[
        int, typer.Option("--verbose", min=0, max=2, help="RL Zoo's: 0 prints nothing but errors.")
    ] = 1,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private.")] = False,
    load_best: LoadBestOpt = False,
    load_checkpoint: LoadCheckpointOpt = None,
    load_last_checkpoint: LoadLastOpt = False,
    device: DeviceOpt = "auto",
    env_package: EnvPackageOpt = None,
):
    """Package an agent (checkpoint, hyperparameters, results, video, model card) and push it to the Hub."""
    import_torch()
    _without_windows()
    _import_env_packages(env_package)
    import tempfile

    from zoo.hub import Showing, package, push, repo_id_of

    if episodes < 1:
        raise ZooError("--episodes must be at least 1.")
    if video_steps is not None and video_steps < 1:
        raise ZooError(f"-n/--n-timesteps must be at least 1 (the video's env steps), got {video_steps}.")
    _refuse_with_n_envs(n_envs, **{"--stochastic": not deterministic})
    repo_id = repo_id_of(repo_id, organization, repo_name, algo, env_id)
    which = _checkpoint_choice(load_best, load_checkpoint, load_last_checkpoint)
    path = _run_of_exp_id(algo, env_id, runs_dir, exp_id, path, None)
    _set_threads(num_threads)
    opened = _open(algo, env_id, path, runs_dir, device=device, which=which, env_kwargs=env_kwargs,
                   plays=("`zoo upload`'s evaluation plays", "(--env-kwargs {example})"))
    checkpoint, agent = opened.checkpoint, opened.agent
    opened.env.close()
    say = console.print if verbose > 0 else _silent
    from zoo.interrupt import Terminated, sigterm_raises

    try:  # Ctrl-C or SIGTERM: package() removes its folder; one line, as the other commands
        with sigterm_raises() as raise_if_terminated:
            showing = Showing(episodes, video, deterministic, seed, video_steps, opened.description, n_envs,
                              raise_if_terminated)
            if out is not None:
                folder = package(agent, env_id, repo_id, out, showing)
                say(f"packaged {escape(str(checkpoint))} into {escape(str(folder))}: "
                    + ", ".join(sorted(p.name for p in folder.iterdir())))
                return
            with tempfile.TemporaryDirectory() as staging:
                folder = package(agent, env_id, repo_id, Path(staging) / "agent", showing)
                url = push(folder, repo_id, private=private, commit_message=commit_message)
    except (KeyboardInterrupt, Terminated) as stopped:
        name = "SIGTERM" if isinstance(stopped, Terminated) else "SIGINT"
        code = INTERRUPTED_EXIT_CODES[name]
        what = f"nothing left in {escape(str(out))}" if out is not None else "no commit pushed"
        error_console.print(f"[yellow]Interrupted by {name}:[/] {what}; exit code {code}.", highlight=False)
        raise typer.Exit(code) from None
    say(f"pushed {escape(str(checkpoint))} to {escape(url)}")


@app.command()
@_friendly_errors
def download(
    repo_id: Annotated[str, typer.Argument(help="The Hub model repo, ORG/NAME.")],
    runs_dir: RunsOpt = None,
):
    """Download an agent from the Hub into runs/hub/ORG/NAME and check that it loads."""
    from zoo.hub import download as download_repo
    from zoo.hub import hub_dir, open_folder

    folder = download_repo(repo_id, hub_dir(runs_dir or RUNS, repo_id))
    agent = open_folder(folder)
    console.print(f"downloaded a {agent.algo} agent for {escape(agent.env_id)} to {escape(str(folder))}; "
                  f"play it with `zoo enjoy {agent.algo} {escape(agent.env_id)} --path {escape(str(folder))}`")


@app.command()
@_friendly_errors
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (runs/<algo>/<env>_<n>), or folders of "
                                                         "them (runs/ppo); seeds of one algo are averaged.")],
    out: Annotated[Path, _path_option("--out", help="The figure to write, .png, .svg or .pdf (more, named after "
                                                    "it, if needed).")] = Path(
        "plot.png"),
    x: Annotated[str, typer.Option("--x", "-x", help="The x axis: steps (env steps), seconds (wall clock since "
                                                     "training started; time: RL Zoo's) or episodes (training "
                                                     "episodes ended).")] = "steps",
    window: Annotated[int, typer.Option("--window", "-w", "--episode-window",
                                        help="Training episodes each point of a training curve averages (RL "
                                             "Zoo's -w).")] = 10,
    curves: Annotated[str, typer.Option("--curves", help="auto: the periodic evaluations when the runs have "
                                                         "them (training episodes dashed); evaluation; "
                                                         "training.")] = "auto",
):
    """Learning curves (mean ± std over seeds), bandit regret, or DP value maps, to PNG, SVG or PDF."""
    from zoo.plots import plot_runs

    def skip(run_dir: Path, reason: str) -> None:
        error_console.print(f"[yellow]left out[/] {escape(str(run_dir))}: {reason}", highlight=False)

    for path in plot_runs(list(run_dirs), out, x=x, curves=curves, on_skip=skip, window=window):
        console.print(f"wrote {escape(str(path))}")


@app.command()
@_friendly_errors
def benchmark(
    algo: AlgoArg,
    env_id: EnvArg,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds FIRST..FIRST+N-1 to train.")] = 5,
    first_seed: Annotated[int, typer.Option("--first-seed", help="The first seed (e.g. past those a study "
                                                                 "tuned on).")] = 0,
    steps: Annotated[Optional[int], typer.Option("--steps", "-n", "--n-timesteps",
                                                 help="Training budget (n_timesteps; -n as in RL Zoo).")] = None,
    hp: HpOpt = None,
    rl_zoo_hp: RlZooHpOpt = None,
    hyperparams: HyperparamsOpt = None,
    episodes: Annotated[int, typer.Option(help="Deterministic episodes to evaluate each final policy.")] = 20,
    time_to_solve: Annotated[bool, typer.Option("--time-to-solve", help="Ours: whole `zoo train` processes on our "
                                                                        "entry; SB3: whole processes on RL Zoo's "
                                                                        "entry at its full budget.")] = False,
    target: Annotated[Optional[float], typer.Option("--target", help="--time-to-solve: count the seeds whose "
                                                                     "final return reaches it.")] = None,
    sb3_seeds: Annotated[Optional[int], typer.Option("--sb3-seeds", help="--time-to-solve: SB3 on the first K "
                                                                         "seeds only (its runs take "
                                                                         "minutes).")] = None,
    sb3_eval_freq: Annotated[int, typer.Option("--sb3-eval-freq", help="--time-to-solve: SB3 evaluates every N "
                                                                       "steps and keeps evaluations.csv "
                                                                       "(0: never, as RL Zoo's --eval-freq -1).")] = 0,
    sb3_steps: Annotated[Optional[int], typer.Option("--sb3-steps", help="--time-to-solve: SB3's budget (default: "
                                                                         "RL Zoo's entry's, in full).")] = None,
    sb3: Annotated[
        Optional[bool], typer.Option("--sb3/--no-sb3", help="Run SB3 side by side (default: when installed).")
    ] = None,
    sb3_threads: Annotated[
        Optional[int], typer.Option(help="Torch threads for SB3 (default: torch's default, what SB3 users get).")
    ] = None,
    out: Annotated[Path, _path_option("--out", help="Root folder; reports go to OUT/benchmarks/.")] = Path("runs"),
    backbone: Annotated[
        Optional[list[str]],
        typer.Option("--backbone", help="Vision agents: one run per backbone, as a table; 'NAME' or "
                                        "'NAME {option: value}' (repeatable)."),
    ] = None,
    per_update: Annotated[
        Optional[int],
        typer.Option("--per-update", help="Off-policy algos: time N blocks of updates, ours and SB3's alternating "
                                          "in one process, on equal buffers (no training run)."),
    ] = None,
    device: DeviceOpt = "auto",
    env_package: EnvPackageOpt = None,
):
    """Train several seeds, evaluate the final policies, time them; SB3 alongside when installed."""
    import_torch()
    _without_windows()
    _import_env_packages(env_package)
    from zoo.benchmark import run_benchmark
    from zoo.config import check_seed, parse_overrides

    for flag, value in (("--seeds", seeds), ("--episodes", episodes)):
        if value < 1:
            raise ZooError(f"{flag} must be at least 1, got {value}.")
    _check_budget("--steps", steps)
    _check_budget("--sb3-steps", sb3_steps)
    check_seed(first_seed, "--first-seed")
    check_seed(first_seed + seeds - 1, "--first-seed + --seeds - 1")
    seed_list = list(range(first_seed, first_seed + seeds))
    overrides = parse_overrides(hp or [], rl_zoo_hp or [])
    if per_update is not None:
        if time_to_solve or backbone:
            raise ZooError("--per-update times updates without training runs: it does not combine with "
                           "--time-to-solve or --backbone.")
        _benchmark_per_update(algo, env_id, per_update, overrides, hyperparams, sb3, sb3_threads,
                              first_seed, out)
        return
    if time_to_solve:
        _benchmark_time_to_solve(algo, env_id, seed_list, steps, overrides, hyperparams, episodes,
                                 sb3, sb3_seeds, sb3_threads, sb3_eval_freq, sb3_steps, target, out)
        return
    if backbone:
        _benchmark_backbones(algo, env_id, backbone, seeds, steps, overrides, hyperparams, episodes,
                             out, device)
        return

    report = run_benchmark(algo, env_id, seed_list, n_timesteps=steps, overrides=overrides,
                           hyperparams=hyperparams, eval_episodes=episodes, compare_sb3=sb3,
                           sb3_threads=sb3_threads, out_dir=out, device=device,
                           on_result=lambda result: _show_seed_result(result.library, result))
    _print_report(report, f"{report.algo} on {report.env_id}: {report.n_timesteps} steps, {episodes} eval episodes",
                  out)


def _benchmark_per_update(algo: str, env_id: str, blocks: int, overrides: dict, hyperparams: Optional[str],
                          sb3: Optional[bool], sb3_threads: Optional[int], seed: int, out: Path) -> None:
    from zoo.benchmark.per_update import BLOCK_UPDATES, run_per_update, write_per_update_report

    try:
        report = run_per_update(algo, env_id, blocks, hyperparams=hyperparams, overrides=overrides,
                                compare_sb3=sb3, sb3_threads=sb3_threads, seed=seed)
    except KeyboardInterrupt:  # nothing is trained or saved here: one line, as the other commands
        error_console.print("[yellow]Interrupted by SIGINT:[/] no report; exit code 130.", highlight=False)
        raise typer.Exit(INTERRUPTED_EXIT_CODES["SIGINT"]) from None
    table = Table(title=f"{report.algo} on {report.env_id}: time per update, batch {report.batch_size}, "
                        f"{blocks} alternating blocks of {BLOCK_UPDATES} after {report.warmup_updates} untimed")
    for column in ("library", "median", "min", "threads"):
        table.add_column(column, justify="right")
    for library, times in report.summary().items():
        table.add_row(library, f"{times['median_ms']:.2f} ms", f"{times['min_ms']:.2f} ms",
                      str(report.threads[library]))
    console.print(table)
    for note in report.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    ratio = report.ratio()
    if ratio is not None:
        console.print(f"zoo / SB3 time per update (median of block ratios): [bold]{ratio:.2f}[/]")
    path = write_per_update_report(report, out)
    console.print(f"written to {escape(str(path))}")


def _benchmark_time_to_solve(algo: str, env_id: str, seeds: list[int], steps: Optional[int], overrides: dict,
                             hyperparams: Optional[str], episodes: int, sb3: Optional[bool], sb3_seeds: Optional[int],
                             sb3_threads: Optional[int], sb3_eval_freq: int, sb3_steps: Optional[int],
                             target: Optional[float], out: Path) -> None:
    from zoo.benchmark.time_to_solve import SeedInterrupted, run_time_to_solve

    if steps is not None:
        overrides = {**overrides, "n_timesteps": steps}
    if sb3_seeds is not None and sb3_seeds < 0:
        raise ZooError("--sb3-seeds must be at least 0.")
    try:
        report, folder = run_time_to_solve(algo, env_id, seeds, hyperparams=hyperparams, overrides=overrides,
                                           eval_episodes=episodes, compare_sb3=sb3, sb3_seeds=sb3_seeds,
                                           sb3_threads=sb3_threads, sb3_eval_freq=sb3_eval_freq, sb3_steps=sb3_steps,
                                           target=target, out_dir=out,
                                           on_result=lambda result: _show_seed_result(result.library, result))
    except SeedInterrupted as stopped:
        code = INTERRUPTED_EXIT_CODES[stopped.signal_name]
        saved = " (its model.zip holds what it learned)" if stopped.who == "zoo train" else ""
        error_console.print(f"[yellow]Interrupted by {stopped.signal_name}:[/] no report; the {stopped.who} run it "
                            f"stopped is in {escape(str(stopped.run_dir))}{saved}; exit code {code}.",
                            highlight=False)
        raise typer.Exit(code) from None
    _print_report(report, f"{report.algo} on {report.env_id}: time to solve, {episodes} eval episodes", out)
    console.print(f"runs in {escape(str(folder))} (zoo plot {escape(str(folder))}/zoo/seed_*/*/* "
                  f"{escape(str(folder))}/sb3/seed_* --x seconds)")


def _print_report(report, title: str, out: Path) -> None:
    from zoo.benchmark import write_report

    table = Table(title=title)
    columns = {"library": "library", "per_seed": "per seed", "mean_std": "mean ± std", "min": "min",
               "wall_time": "wall time", "steps_per_second": "steps/s", "threads": "threads"}
    for column in columns.values():
        table.add_column(column, justify="right")
    for row in report.rows():
        table.add_row(*(row[key] for key in columns))
    console.print(table)
    if report.time_ratio() is not None:
        console.print(f"zoo wall time / SB3 wall time: [bold]{report.time_ratio():.2f}[/]")
    for note in report.notes:
        console.print(f"note: {escape(note)}")
    json_path, markdown_path = write_report(report, out)
    console.print(f"written to {escape(str(json_path))} and {escape(str(markdown_path))}")


def _show_seed_result(label: str, result) -> None:
    """One benchmark seed as it finishes: '<library or backbone> seed N: return ... in ... s'."""
    console.print(f"{escape(label)} seed {result.seed}: return {result.mean_return:.1f} ± {result.std_return:.1f} "
                  f"in {result.seconds:.1f} s ({result.steps_per_second:.0f} steps/s)")


def _benchmark_backbones(algo: str, env_id: str, specs: list[str], seeds: int, steps: Optional[int],
                         overrides: dict, hyperparams: Optional[str], episodes: int, out: Path, device: str) -> None:
    from zoo.benchmark import parse_backbone_spec, run_backbone_benchmark, write_backbone_table

    results = run_backbone_benchmark(algo, env_id, [parse_backbone_spec(spec) for spec in specs],
                                     list(range(seeds)), n_timesteps=steps, overrides=overrides,
                                     hyperparams=hyperparams, eval_episodes=episodes, out_dir=out,
                                     on_result=_show_seed_result,
                                     device=device)
    first = results[0].report
    table = Table(title=f"{first.algo} on {env_id}: {first.n_timesteps} steps, {episodes} eval episodes")
    for column in ("backbone", "parameters", "steps/s", "per seed", "mean ± std"):
        table.add_column(column, justify="right")
    for result in results:
        row = result.row()
        table.add_row(result.backbone, f"{result.parameters:,}", f"{row['steps_per_second']:.0f}",
                      ", ".join(f"{r:.1f}" for r in row["returns"]),
                      f"{row['mean_return']:.1f} ± {row['std_return']:.1f}")
    console.print(table)
    json_path, markdown_path = write_backbone_table(env_id, results, out)
    console.print(f"written to {escape(str(json_path))} and {escape(str(markdown_path))}")


@app.command()
@_friendly_errors
def tune(
    algo: AlgoArg,
    env_id: EnvArg,
    trials: Annotated[int, typer.Option("--trials", "--n-trials", "--max-total-trials",
                                        help="Finished (complete or pruned) trials the study must hold, counted "
                                             "across all workers and machines; 0: report only (--n-trials, "
                                             "--max-total-trials: RL Zoo's).")] = 20,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds after which a worker starts no "
                                                                       "new trial.")] = None,
    workers: Annotated[int, typer.Option("--workers", "--n-jobs",
                                         help="Local worker processes (one torch thread each; --n-jobs: RL "
                                              "Zoo's).")] = 1,
    steps: Annotated[Optional[int], typer.Option("--steps", "-n", "--n-timesteps",
                                                 help="Training budget of a trial (n_timesteps); default: the "
                                                      "entry's.")] = None,
    eval_episodes: Annotated[int, typer.Option("--eval-episodes", help="Episodes judging a trial's final "
                                                                       "policy.")] = 10,
    n_evaluations: Annotated[int, typer.Option("--n-evaluations", help="Evaluations per trial, reported to the "
                                                                       "pruner.")] = 5,
    n_startup_trials: Annotated[int, typer.Option("--n-startup-trials", help="Random trials before TPE, and "
                                                                             "before pruning.")] = 5,
    storage: StorageOpt = None,
    study_name: Annotated[Optional[str], typer.Option("--study-name", help="Default: ALGO-ENV. The same name "
                                                                           "continues a study.")] = None,
    trial_seeds: Annotated[int, typer.Option("--trial-seeds", help="Seeds per trial; its value is the mean over "
                                                                   "them.")] = 1,
    objective: Annotated[Optional[str], typer.Option("--objective", help="return (maximise the final mean return), or "
                                                               "wall-to-return:X / steps-to-return:X (minimise the "
                                                               "seconds / env steps until an evaluation averages "
                                                               ">= X). Default: return; with --trials 0, the "
                                                               "study's own.")] = None,
    penalty: Annotated[Optional[float], typer.Option("--penalty", help="Time objectives: added to an unsolved "
                                                                       "seed's cost (default: 600 s; the budget "
                                                                       "for steps).")] = None,
    sampler: Annotated[str, typer.Option("--sampler", help="tpe or random.")] = "tpe",
    pruner: Annotated[str, typer.Option("--pruner", help="median, halving or none.")] = "median",
    search: Annotated[Optional[Path], _path_option("--search", help="A search space YAML instead of "
                                                                    "hyperparams/search/ALGO.yml.")] = None,
    save_best: Annotated[Optional[Path], _path_option("--save-best", help="Write the best trial's whole config "
                                                                          "as a hyperparameter file.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the sampler; trials train seeds SEED..SEED+K-1.")] = 0,
    hyperparams: HyperparamsOpt = None,
    out: Annotated[Path, _path_option("--out", help="Root folder; the study goes to OUT/tune/STUDY/.")] = Path("runs"),
    heartbeat: Annotated[int, typer.Option("--heartbeat", help="Database storage: seconds between a trial's "
                                                               "heartbeats.")] = 10,
    grace: Annotated[int, typer.Option("--grace", help="Database storage: seconds without a heartbeat before a "
                                                       "trial is failed and retried.")] = 30,
    trials_dir: Annotated[Optional[Path], _path_option(
        "--optimization-log-path", help="Where each trial's runs go, trial_NNNN/ a trial (RL Zoo's flag); default: "
                                        "the study folder's trials/.")] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", " /--no-optim-plots",
                                        help="Optimisation history and parameter importances as PNG (extra: "
                                             "plot; --no-optim-plots: RL Zoo's).")] = True,
    hp: HpOpt = None,
    rl_zoo_hp: RlZooHpOpt = None,
    env_kwargs: EnvKwargsOpt = None,
    eval_env_kwargs: EvalEnvKwargsOpt = None,
    device: DeviceOpt = "cpu",
    env_package: EnvPackageOpt = None,
):
    """Search hyperparameters with Optuna; several workers (and machines, with --storage) share one study."""
    import_torch()
    _without_windows()
    from zoo.config import parse_env_kwargs, parse_overrides
    from zoo.tune import tune as run_tune

    if sampler not in ("tpe", "random"):
        raise ZooError(f"--sampler is tpe or random, got {brief(sampler)}.")
    if pruner not in ("median", "halving", "none"):
        raise ZooError(f"--pruner is median, halving or none, got {brief(pruner)}.")
    if heartbeat < 1 or grace <= heartbeat:
        raise ZooError("--heartbeat must be at least 1 and --grace longer than it.")
    from zoo.registry import get_algo
    from zoo.tune.objectives import parse_objective

    _check_budget("--steps", steps)
    goal = parse_objective("return" if objective is None else objective, penalty)
    spec = get_algo(algo)
    job = _study_job(algo, env_id, study_name, storage, out, n_trials=trials, timeout=timeout, n_timesteps=steps,
                     eval_episodes=eval_episodes, trial_seeds=trial_seeds, sampler=sampler, pruner=pruner,
                     search=None if search is None else str(search), seed=seed, n_startup_trials=n_startup_trials,
                     n_evaluations=n_evaluations, hyperparams=hyperparams, env_packages=tuple(env_package or ()),
                     device=device, heartbeat_interval=heartbeat, grace_period=grace,
                     overrides=parse_overrides(hp or [], rl_zoo_hp or []),
                     env_kwargs=parse_env_kwargs(env_kwargs or []),
                     eval_env_kwargs=parse_env_kwargs(eval_env_kwargs or [], "--eval-env-kwargs"),
                     goal=goal, goal_from_study=objective is None and trials == 0, trials_dir=trials_dir)
    name = job.study_name

    def announce() -> None:  # once the job, its space and its study are accepted
        console.print(f"Tuning [bold]{spec.name}[/] on [bold]{escape(env_id)}[/]: study {escape(name)}, {trials} "
                      f"trial{'' if trials == 1 else 's'}, {workers} worker{'' if workers == 1 else 's'}")

    result = run_tune(job, workers=workers, save_best=save_best, plots=plots, on_start=announce)
    table = Table(title=f"best trials of {name}")
    for column in ("trial", result.unit, "final returns", "steps", "wall time", "params"):
        table.add_column(column, justify="right" if column != "params" else "left")
    for row in result.best:
        returns = " ".join(f"{value:.0f}" for value in row["returns"] or [])
        table.add_row(str(row["number"]), f"{row['value']:.2f}", returns, str(row["steps"]),
                      f"{row['seconds'] or 0:.1f} s",
                      escape(", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in row["params"].items())))
    console.print(table)
    states = ", ".join(f"{count} {state.lower()}" for state, count in result.counts.items() if count)
    console.print(f"trials: {states or 'none'}; all of them in {escape(str(result.trials_csv))}")
    if result.best and result.best[0]["run_dirs"]:
        console.print(f"best trial's agent: {escape(result.best[0]['run_dirs'][0])} (zoo evaluate --path)")
    if result.saved_best is not None:
        console.print(f"best config: {escape(str(result.saved_best))} "
                      f"(zoo train {spec.name} {escape(env_id)} --hyperparams {escape(str(result.saved_best))})")
    for path in result.plots:
        console.print(f"wrote {escape(str(path))}")
    for note in result.notes:
        console.print(f"note: {escape(note)}")
    if result.stopped_by is not None:
        code = INTERRUPTED_EXIT_CODES.get(result.stopped_by, 130)
        error_console.print(f"[yellow]Interrupted by {result.stopped_by}:[/] the study keeps every finished trial "
                            f"(the one cut short is recorded FAIL) and the same command goes on; exit code {code}.",
                            highlight=False)
        raise typer.Exit(code)


# RL Zoo's flags taking several key:value words (argparse's nargs="+"), and the flag each word
# becomes here (Click's options take one value): `--env-kwargs g:9.8 max_speed:10` is
# `--env-kwargs g:9.8 --env-kwargs max_speed:10`, `--hyperparams learning_rate:0.01 n_steps:64`
# is `--rl-zoo-hyperparam learning_rate:0.01 --rl-zoo-hyperparam n_steps:64`, which read as --hp's
# and whose errors name --hyperparams (zoo's --hyperparams names a set or a file).
_KEY_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:")
_RL_ZOO_LIST_FLAGS = {"--env-kwargs": "--env-kwargs", "--eval-env-kwargs": "--eval-env-kwargs",
                      "--hyperparams": "--rl-zoo-hyperparam", "-params": "--rl-zoo-hyperparam"}


# RL Zoo's train takes several W&B tags after one flag
_RL_ZOO_TAGS = ("-tags", "--wandb-tags")


def _rl_zoo_word(word: str) -> bool:
    return bool(_KEY_VALUE.match(word)) and not Path(word).exists()


# RL Zoo's --gym-packages takes several modules too: the words after its first that name an
# installed module (never an algo or env id, which have no module) are more of them
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _installed_module(word: str) -> bool:
    import importlib.util

    if not _MODULE.fullmatch(word):
        return False
    try:  # a top-level name is looked up without running anything
        return importlib.util.find_spec(word.partition(".")[0]) is not None
    except (ImportError, ValueError):  # __main__, whose spec is None; a name the finders refuse
        return False


# RL Zoo searches hyperparameters with its train script's flag; zoo with its own command
_RL_ZOO_OPTIMIZE = ("-optimize", "--optimize-hyperparameters", "--optimize")
# train's flags that RL Zoo's search takes and zoo tune has no use for (the number of words each
# takes after it), and why: left out of the `zoo tune` command with a note
_TRAIN_ONLY = {"-P": (0, "tune shows no progress bar, one line a trial"),
               "--progress": (0, "tune shows no progress bar, one line a trial"),
               "--no-progress": (0, "tune shows no progress bar, one line a trial"),
               "--verbose": (1, "tune prints one line a trial"),
               "--eval-freq": (1, "--n-evaluations sets the trials' evaluations, as RL Zoo's search does"),
               "--save-freq": (1, "trials keep no periodic checkpoints"),
               "--save-replay-buffer": (0, "trials keep no replay buffer"),
               "--num-threads": (1, "each tune worker trains on one torch thread (--workers for more)"),
               "--trial-id": (1, "the search samples its own trials; train one with --trial-id, without -optimize"),
               "--n-eval-envs": (1, "trials evaluate on one env per episode; --hp n_eval_envs=N sets it"),
               "--log-interval": (1, "tune prints one line a trial"),
               "--track": (0, "zoo logs nothing to Weights & Biases; the study's trials.csv and plots stay local"),
               "--uuid": (0, "each trial's runs go to a folder of its own, trial_NNNN/"),
               "-uuid": (0, "each trial's runs go to a folder of its own, trial_NNNN/"),
               "--truncate-last-trajectory": (1, "zoo has no HER replay buffer to truncate"),
               **{flag: (1, "zoo logs nothing to Weights & Biases")
                  for flag in ("--wandb-project-name", "--wandb-entity", "--wandb-group")},
               # -1: the words up to the next flag (argparse's nargs="+")
               **{flag: (-1, "zoo logs nothing to Weights & Biases") for flag in ("-tags", "--wandb-tags")}}


def rl_zoo_arguments(args: Sequence[str]) -> list[str]:
    """The command line with RL Zoo's list-valued flags spelled as zoo's repeatable ones
    (above). The words taken are those right after the flag that read key:value (key a Python
    name) and are not files (a --hyperparams path); the first other word ends the list, as
    argparse's does at the next flag. Positional arguments go first, as everywhere in zoo's
    help: `zoo train ppo my_pkg:Env-v0`. `--gym-packages a b` is `--gym-packages a --gym-packages
    b` (_installed_module). And `zoo train ... -optimize` (RL Zoo's
    --optimize-hyperparameters, with its --n-trials, --n-jobs, --sampler...) is `zoo tune ...`."""
    if args and args[0] == "train" and any(word in _RL_ZOO_OPTIMIZE for word in args):
        args = ["tune", *_without_train_only_flags([word for word in args[1:] if word not in _RL_ZOO_OPTIMIZE])]
    args = _positional_algo_and_env(list(args))
    out: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "--":  # everything after is positional
            out += args[index - 1:]
            break
        name, equals, first = word.partition("=")  # argparse takes --env-kwargs=g:9.8 too
        if name in _RL_ZOO_TAGS:  # argparse's nargs="+": its first word, then those up to the next flag
            out.append(word)
            if not equals and index < len(args):
                out.append(args[index])
                index += 1
            while index < len(args) and not args[index].startswith("-"):
                out += [name, args[index]]
                index += 1
            continue
        if name == "--gym-packages":
            out.append(word)
            if not equals and index < len(args):
                out.append(args[index])
                index += 1
            while index < len(args) and _installed_module(args[index]):
                out += [name, args[index]]
                index += 1
            continue
        if name not in _RL_ZOO_LIST_FLAGS or (equals and not _rl_zoo_word(first)):
            out.append(word)
            continue
        flag = _RL_ZOO_LIST_FLAGS[name]
        values = [first] if equals else []
        while index < len(args) and _rl_zoo_word(args[index]):
            values.append(args[index])
            index += 1
        if not values:  # zoo's own use of the flag (--hyperparams rl_zoo), or a missing value for Click to name
            out.append(word)
        for value in values:
            out += [flag, value]
    return out


# The commands whose positional arguments RL Zoo's scripts take as --algo and --env, in order
_RL_ZOO_POSITIONALS = {command: ("--algo", "--env")
                       for command in ("train", "tune", "enjoy", "evaluate", "benchmark", "upload")}
# RL Zoo's train and enjoy scripts default the one of the two not given (its -optimize is our tune)
_RL_ZOO_DEFAULTS = {"--algo": "ppo", "--env": "CartPole-v1"}


def _positional_algo_and_env(args: list[str]) -> list[str]:
    """RL Zoo's `train --algo ppo --env CartPole-v1 ...` as zoo's `train ppo CartPole-v1 ...`:
    the values of --algo and --env (or --algo=ppo) moved to the front, in that order (--env
    alone goes after the algo given as zoo's first word); a flag without its value is left for
    Click to name. For train, tune and enjoy, one of the two given alone (and not as zoo's word)
    brings RL Zoo's default for the other, ppo or CartPole-v1, with a note."""
    flags = _RL_ZOO_POSITIONALS.get(args[0] if args else "")
    if flags is None:
        return args
    end = args.index("--") if "--" in args else len(args)
    values: dict[str, str] = {}
    rest: list[str] = []
    index = 1
    while index < end:
        word = args[index]
        name, equals, value = word.partition("=")
        if name in flags and name not in values and (equals or index + 1 < end):
            values[name] = value if equals else args[index + 1]
            index += 1 if equals else 2
            continue
        rest.append(word)
        index += 1
    positional = bool(rest) and not rest[0].startswith("-")  # zoo's first word, given beside the flags
    if "--env" in values and "--algo" not in values and positional:
        rest = [rest[0], values.pop("--env"), *rest[1:]]  # `train ppo --env CartPole-v1`
    elif values and not positional and args[0] in ("train", "tune", "enjoy"):
        for flag in flags:
            if flag not in values:
                values[flag] = _RL_ZOO_DEFAULTS[flag]
                error_console.print(f"note: no {flag}: RL Zoo's default, {values[flag]}.", highlight=False)
    return [args[0], *(values[flag] for flag in flags if flag in values), *rest, *args[end:]]


def _without_train_only_flags(args: list[str]) -> list[str]:
    """RL Zoo's `train ... -optimize` as `zoo tune`: _TRAIN_ONLY's flags left out, each said."""
    kept: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        name = word.partition("=")[0]
        if name in _TRAIN_ONLY and "--" not in args[:index]:
            takes, why = _TRAIN_ONLY[name]
            if takes < 0:
                takes = len(list(itertools.takewhile(lambda after: not after.startswith("-"), args[index + 1:])))
            words = 1 + (takes if name == word else 0)
            error_console.print(f"note: {' '.join(args[index:index + words])} left out of zoo tune: {why}.",
                                highlight=False)
            index += words
            continue
        kept.append(word)
        index += 1
    return kept


def main():
    _command_line[:] = rl_zoo_arguments(sys.argv[1:])
    try:
        app(args=_command_line, prog_name="zoo")
    finally:  # a caller in the same process (tests) may run the app again without main()
        _command_line.clear()


if __name__ == "__main__":
    main()
