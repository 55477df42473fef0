"""Bandit solvers on a fixed 10-arm problem, 5000 pulls, averaged over 20 seeds."""

import gymnasium as gym
import numpy as np
import pytest

import envs
from zoo.config import config_with_flags
from zoo.loops.bandit import run_bandit
from zoo.registry import get_algo

gym.register_envs(envs)
# Its module fixture (500k bandit steps, ~30 s) runs once per test process: under pytest-xdist
# these tests go to one process (pyproject's --dist loadgroup), not each to its own.
pytestmark = pytest.mark.xdist_group("bandit_regret_curves")

SOLVERS = ["epsilon_greedy", "decaying_epsilon_greedy", "ucb", "thompson_sampling"]
N_STEPS, N_SEEDS = 5000, 20
# One fixed problem (drawn once from seed 2026) so every solver faces the same arms.
PROBS = np.random.default_rng(2026).uniform(size=10).tolist()


class UniformRandom:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def take_action(self, observation, deterministic=False):
        return int(self.rng.integers(10))

    def update(self, action, reward):
        return {}


def make_solver(algo, seed):
    spec = get_algo(algo)
    config = config_with_flags(spec, {}, source="test")  # decaying_epsilon_greedy: decaying: true
    return spec.load_agent_class()(gym.spaces.Discrete(1), gym.spaces.Discrete(10), config, algo=spec.name, seed=seed)


def regret_curves(make_agent):
    """[N_SEEDS, N_STEPS] cumulative regret."""
    curves = []
    for seed in range(N_SEEDS):
        env = gym.make("BernoulliBandit-v0", probs=PROBS)
        curves.append(run_bandit(make_agent(seed), env, N_STEPS, seed=seed).cumulative_regret)
    return np.array(curves)


@pytest.fixture(scope="module")
def all_curves():
    result = {algo: regret_curves(lambda seed, algo=algo: make_solver(algo, seed)) for algo in SOLVERS}
    result["random"] = regret_curves(UniformRandom)
    return result


@pytest.fixture(scope="module")
def curves(all_curves):
    return {algo: runs.mean(axis=0) for algo, runs in all_curves.items()}


@pytest.mark.slow
def test_random_regret_is_what_theory_says(curves):
    expected = N_STEPS * (max(PROBS) - np.mean(PROBS))
    assert abs(curves["random"][-1] - expected) < 0.02 * expected


@pytest.mark.slow
@pytest.mark.parametrize("algo", SOLVERS)
def test_every_solver_beats_random_by_a_wide_margin(curves, algo):
    # Measured means over the 20 seeds: random 2124, epsilon-greedy 199, 1/t 228, UCB 89,
    # Thompson 39.
    assert curves[algo][-1] < 0.25 * curves["random"][-1]


@pytest.mark.slow
def test_thompson_ends_well_below_plain_epsilon_greedy(curves):
    assert curves["thompson_sampling"][-1] < 0.6 * curves["epsilon_greedy"][-1]


@pytest.mark.slow
def test_decaying_epsilon_ends_well_below_plain_epsilon_greedy_in_the_typical_run(all_curves):
    # Compared on the median over seeds, not the mean. With epsilon = 1/t a run explores only
    # about ln(5000) ~ 8.5 random pulls in all, so when the best arm fails its first pull the
    # run locks onto a worse arm for good (5 of these 20 seeds, 580 to 1330 regret each;
    # epsilon = 0.01 gets stuck as often but explores its way out sooner). Those runs decide
    # the mean, which is then no better than plain epsilon-greedy's (228 vs 199), while the
    # typical run's regret is a third of it (median 10 vs 29). Measured, not tuned: the
    # solver is the notes' 1/t.
    decaying = np.median(all_curves["decaying_epsilon_greedy"][:, -1])
    plain = np.median(all_curves["epsilon_greedy"][:, -1])
    assert decaying < 0.6 * plain


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ucb", "thompson_sampling"])
def test_ucb_and_thompson_regret_grows_sublinearly(curves, algo):
    curve = curves[algo]
    early = curve[N_STEPS // 2 - 1]
    late = curve[-1] - curve[N_STEPS // 2 - 1]
    assert late < 0.5 * early


def test_regret_is_what_the_pulled_arms_cost():
    # Recomputed from the arms pulled and the known probabilities, independently of the env's info.
    env = gym.make("BernoulliBandit-v0", probs=PROBS)
    run = run_bandit(make_solver("ucb", 0), env, 500, seed=0)
    assert run.cumulative_regret.shape == (500,)
    np.testing.assert_allclose(run.cumulative_regret, np.cumsum(max(PROBS) - np.asarray(PROBS)[run.actions]))


def test_greedy_action_is_the_best_estimate_and_ties_are_broken_fairly():
    agent = make_solver("epsilon_greedy", seed=0)
    # No arm pulled: all tie at the optimistic estimate, so the pick spreads over all arms.
    assert len({agent.take_action(0, deterministic=True) for _ in range(200)}) == 10
    agent.update(3, 1.0)
    for arm in range(10):
        if arm != 3:
            agent.update(arm, 0.0)
    assert agent.take_action(0, deterministic=True) == 3


def test_update_rejects_an_action_that_is_not_an_arm():
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="not an arm"):
        make_solver("ucb", seed=0).update(10, 1.0)


@pytest.mark.parametrize("algo", SOLVERS)
def test_every_solver_beats_random_on_a_quick_run(algo):
    # The fast guard of the default run (the 20-seed curves above are marked slow): 3 seeds of
    # 2000 pulls; uniform random's expected regret there is 2000 * (max(PROBS) - mean(PROBS)).
    random_regret = 2000 * (max(PROBS) - np.mean(PROBS))
    regrets = [run_bandit(make_solver(algo, seed), gym.make("BernoulliBandit-v0", probs=PROBS), 2000,
                          seed=seed).cumulative_regret[-1] for seed in range(3)]
    assert np.mean(regrets) < 0.4 * random_regret
