import re
from dataclasses import dataclass
from typing import Literal

import pytest
import yaml

from zoo.config import build_config, parse_overrides, resolve_hyperparams
from zoo.errors import ZooError
from zoo.paths import hyperparams_dir
from zoo.registry import ALGOS, get_algo


@dataclass
class ExampleConfig:
    n_timesteps: int = 100
    learning_rate: float = 1e-3
    net_arch: list[int] = None
    loss: Literal["huber", "mse"] = "huber"
    double: bool = False


def test_unknown_key_names_the_key_and_lists_the_valid_ones():
    with pytest.raises(ZooError) as error:
        build_config(ExampleConfig, {"learning_rte": 0.1}, source="dqn.yml [CartPole-v1]")
    message = str(error.value)
    assert "dqn.yml [CartPole-v1]" in message and "'learning_rte'" in message
    assert "Did you mean: learning_rate?" in message
    assert "Valid keys: n_timesteps, learning_rate, net_arch, loss, double" in message


@pytest.mark.parametrize(
    "key, value, expected",
    [("n_timesteps", "many", "int"), ("n_timesteps", 1.5, "int"), ("double", 1, "bool"),
     ("learning_rate", True, "float"), ("net_arch", [64, "x"], "list[int]"), ("loss", "l1", "'huber' | 'mse'")],
)
def test_wrong_type_names_the_key_and_the_expected_type(key, value, expected):
    with pytest.raises(ZooError, match=re.escape(f"'{key}' must be {expected}, got {value!r}")):
        build_config(ExampleConfig, {key: value}, source="test")


def test_lossless_conversions_are_accepted():
    config = build_config(ExampleConfig, {"n_timesteps": 1e5, "learning_rate": 1, "net_arch": [64, 64]}, source="t")
    assert config.n_timesteps == 100000 and isinstance(config.n_timesteps, int)
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)


def test_overrides_are_parsed_as_yaml_values():
    assert parse_overrides(["lr=1e-3", "net_arch=[64, 64]", "double=true", "loss=mse", "n=5"]) == {
        "lr": 0.001, "net_arch": [64, 64], "double": True, "loss": "mse", "n": 5,
    }
    with pytest.raises(ZooError, match="key=value"):
        parse_overrides(["epsilon"])


def test_layers_apply_in_order_defaults_then_default_entry_then_env_then_cli(tmp_path):
    (tmp_path / "ucb.yml").write_text(yaml.safe_dump({
        "default": {"coefficient": 2.0, "n_timesteps": 10},
        "BernoulliBandit-v0": {"coefficient": 3.0, "env_kwargs": {"n_arms": 4}},
    }))
    resolved = resolve_hyperparams(get_algo("ucb"), "BernoulliBandit-v0", {"n_timesteps": 20}, tmp_path)
    assert (resolved.config.coefficient, resolved.config.n_timesteps) == (3.0, 20)
    assert resolved.config.initial_estimate == 1.0  # dataclass default
    assert resolved.env_kwargs == {"n_arms": 4}
    path = tmp_path / "ucb.yml"
    assert resolved.sources == [f"{path} [default]", f"{path} [BernoulliBandit-v0]", "--hp"]
    other_env = resolve_hyperparams(get_algo("ucb"), "envs:OtherEnv-v0", None, tmp_path)
    assert other_env.config.coefficient == 2.0


def test_an_error_names_the_layer_that_caused_it(tmp_path):
    (tmp_path / "ucb.yml").write_text("default:\n  coeficient: 2.0\n")
    with pytest.raises(ZooError, match=r"ucb.yml \[default\]: unknown hyperparameter 'coeficient'"):
        resolve_hyperparams(get_algo("ucb"), "X-v0", None, tmp_path)
    (tmp_path / "ucb.yml").write_text("default:\n  coefficient: 2.0\n")
    with pytest.raises(ZooError, match=r"--hp: hyperparameter 'coefficient' must be float"):
        resolve_hyperparams(get_algo("ucb"), "X-v0", {"coefficient": "big"}, tmp_path)


def test_range_checks_in_the_config_become_clear_errors():
    with pytest.raises(ZooError, match="'epsilon' must be in"):
        build_config(get_algo("epsilon_greedy").load_config_class(), {"epsilon": 2.0}, source="--hp")
    # a linear schedule's start is held to the same range as the constant it replaces
    for algo in ("dqn", "ddpg", "sac", "actor_critic", "ppo"):
        with pytest.raises(ZooError, match="--hp: hyperparameter 'learning_rate' must be in"):
            build_config(get_algo(algo).load_config_class(), {"learning_rate": "lin_5"}, source="--hp")
        build_config(get_algo(algo).load_config_class(), {"learning_rate": "lin_1"}, source="--hp")


@pytest.mark.parametrize("algo", list(ALGOS))
def test_every_algo_has_a_hyperparams_file(algo):
    name = get_algo(algo).hyperparams_name  # an alias reads its base's file
    assert (hyperparams_dir() / f"{name}.yml").exists(), f"hyperparams/{name}.yml is missing"


@pytest.mark.parametrize("path", sorted(p for p in hyperparams_dir().rglob("*.yml") if p.parent.name != "search"),
                         ids=lambda p: str(p.relative_to(hyperparams_dir())))
def test_every_shipped_hyperparams_entry_loads(path):
    # (hyperparams/search/ holds zoo tune's search spaces: tests/test_tune.py checks those)
    algo = path.stem
    entries = yaml.safe_load(path.read_text())
    assert "default" in entries
    for name, entry in entries.items():
        if name in ALGOS:  # an alias section: its entries, through the alias
            assert get_algo(name).base == algo
            for env_id in entry:
                resolve_hyperparams(get_algo(name), env_id, hyperparams=path)
        else:
            resolve_hyperparams(get_algo(algo), name, hyperparams=path)


def test_a_shipped_set_is_chosen_by_name_and_an_unknown_one_is_a_clear_error():
    rl_zoo = resolve_hyperparams(get_algo("dqn"), "CartPole-v1", hyperparams="rl_zoo")
    assert rl_zoo.config.gradient_steps == 128 and rl_zoo.config.net_arch == [256, 256]
    assert rl_zoo.sources == ["rl_zoo/dqn.yml [default]", "rl_zoo/dqn.yml [CartPole-v1]"]
    with pytest.raises(ZooError, match=r"shipped sets: rl_zoo, v0_1, v0_2\)"):
        resolve_hyperparams(get_algo("dqn"), "CartPole-v1", hyperparams="nope")
    # only the sets that hold the algo's file (v0_3 has no dqn.yml)
    with pytest.raises(ZooError, match=r"shipped sets: rl_zoo, v0_1, v0_2, v0_3\)"):
        resolve_hyperparams(get_algo("td3"), "Pendulum-v1", hyperparams="nope")
    # hyperparams/search/ holds zoo tune's search spaces: not a set of hyperparameters
    with pytest.raises(ZooError, match=r"No hyperparameters 'search' for dqn"):
        resolve_hyperparams(get_algo("dqn"), "CartPole-v1", hyperparams="search")


def test_algo_names_accept_dash_and_underscore_and_suggest_on_typos():
    assert get_algo("Thompson-Sampling").name == "thompson_sampling"
    with pytest.raises(ZooError, match="Did you mean: value_iteration"):
        get_algo("value_iterations")


@pytest.mark.parametrize("word, candidates, suggestion", [
    ("lenett", ["lenet", "alexnet", "vgg", "resnet"], " Did you mean: lenet?"),  # not alexnet, resnet too
    ("CartPole", ["CartPole-v0", "CartPole-v1", "Acrobot-v1"], " Did you mean: CartPole-v0, CartPole-v1?"),
    ("learning_rte", ["learning_rate", "learning_starts"], " Did you mean: learning_rate?"),
    ("zzz", ["lenet", "alexnet"], ""),
])
def test_suggestions_are_the_closest_names_only(word, candidates, suggestion):
    from zoo.errors import did_you_mean

    assert did_you_mean(word, candidates) == suggestion
