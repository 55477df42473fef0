"""The planning loop: solve the env's model once, log each iteration, try the policy."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from zoo.contracts import PlanningAgent, RunSummary
from zoo.evaluation import evaluate_agent
from zoo.planning import model_of
from zoo.runs import PROGRESS_NAME, CsvLog

EVALUATION_EPISODES = 100


def planning_loop(agent: PlanningAgent, env: gym.Env, *, seed: int | None, run_dir: Path) -> RunSummary:
    # Planning is a few milliseconds of matrix products, so Ctrl-C has nothing to cut short.
    metrics = agent.update(model_of(env))
    fields = ["iteration", *agent.history[0].keys()]
    with CsvLog(run_dir / PROGRESS_NAME, fields) as log:
        log.write_many([{"iteration": i + 1, **row} for i, row in enumerate(agent.history)])
    evaluation = evaluate_agent(agent, env, EVALUATION_EPISODES, seed=seed)
    return {**metrics, "mean_return": evaluation.mean, "std_return": evaluation.std}
