"""RL Zoo's own hyperparameter files (`policy: MlpPolicy`, policy_kwargs strings, normalize,
'auto' temperatures) read as zoo's, without running any of their Python."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from typer.testing import CliRunner

from zoo.cli import app
from zoo.config import resolve_hyperparams
from zoo.errors import ZooError
from zoo.registry import get_algo

PPO_FILE = """
atari:
  policy: 'CnnPolicy'
  n_envs: 8
Pendulum-v1:
  normalize: true
  n_envs: 4
  policy: 'MlpPolicy'
  n_timesteps: !!float 1e5
  n_steps: 1024
  gae_lambda: 0.95
  gamma: 0.9
  ent_coef: 0.0
  learning_rate: !!float 1e-3
  clip_range: lin_0.2
  use_sde: True
  sde_sample_freq: 4
  policy_kwargs: "dict(log_std_init=-2, ortho_init=False, activation_fn=nn.ReLU,
                       net_arch=dict(pi=[64, 64], vf=[64, 64]))"
Acrobot-v1:
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy: 'MlpPolicy'
  n_envs: 16
  n_steps: 256
"""

SAC_FILE = """
Pendulum-v1:
  n_timesteps: 20000
  policy: 'MlpPolicy'
  learning_rate: !!float 1e-3
  ent_coef: 'auto_0.1'
  target_entropy: auto
  train_freq: [1, "episode"]
  gradient_steps: -1
  optimize_memory_usage: True
  policy_kwargs: "dict(net_arch=[64, 64], n_critics=2, activation_fn=th.nn.Tanh)"
"""


def resolved(tmp_path, algo, env_id, text, overrides=None):
    path = tmp_path / f"{algo}.yml"
    path.write_text(textwrap.dedent(text))
    return resolve_hyperparams(get_algo(algo), env_id, overrides, str(path))


def test_an_rl_zoo_file_reads_as_zoos_hyperparameters(tmp_path):
    pendulum = resolved(tmp_path, "ppo", "Pendulum-v1", PPO_FILE)
    config = pendulum.config
    assert (config.n_envs, config.n_steps, config.n_timesteps, config.gamma, config.clip_range) == \
        (4, 1024, 100_000, 0.9, "lin_0.2")
    assert config.normalize_observations and config.normalize_rewards  # normalize: true is VecNormalize's both
    assert (config.use_sde, config.sde_sample_freq, config.log_std_init) == (True, 4, -2.0)
    assert (config.init, config.activation, config.net_arch) == ("default", "relu", [64, 64])
    assert pendulum.sources[-1].endswith("ppo.yml [Pendulum-v1]")
    acrobot = resolved(tmp_path, "ppo", "Acrobot-v1", PPO_FILE).config
    assert acrobot.normalize_observations and not acrobot.normalize_rewards
    assert (acrobot.init, acrobot.activation) == ("orthogonal", "tanh")  # SB3's PPO defaults, which are zoo's
    sac = resolved(tmp_path, "sac", "Pendulum-v1", SAC_FILE).config
    assert (sac.ent_coef, sac.initial_alpha, sac.target_entropy) == (None, 0.1, None)
    assert (sac.train_freq, sac.gradient_steps, sac.net_arch, sac.activation) == \
        ((1, "episode"), -1, [64, 64], "tanh")
    # SB3's CNN policy: zoo's MLP agents have no CNN, and do not quietly build an MLP instead
    with pytest.raises(ZooError, match=r"ppo.yml \[atari\]: policy: CnnPolicy asks for a CNN on frames"):
        resolved(tmp_path, "ppo", "atari", PPO_FILE)
    # --hp still goes over the file
    assert resolved(tmp_path, "sac", "Pendulum-v1", SAC_FILE, {"gradient_steps": 4}).config.gradient_steps == 4


@pytest.mark.parametrize("entry, says", [
    # RL Zoo runs these strings as Python: here nothing is run, and the call is refused
    ({"policy_kwargs": "__import__('os').system('touch PWNED')"}, "is not a dict(...) of literals"),
    ({"policy_kwargs": "dict(net_arch=[64] * 2)"}, "is not a dict(...) of literals"),
    ({"policy_kwargs": "dict(activation_fn=lambda x: x)"}, "is not a dict(...) of literals"),
    ({"policy_kwargs": "dict(**x)"}, "is not a dict(...) of literals"),
    ({"policy_kwargs": "dict(net_arch=[" + "[" * 1500 + "]"}, "is not a dict(...) of literals"),
    ({"policy_kwargs": "dict(net_arch=[" + "1, " * 2000 + "])"}, "expected a mapping or a \"dict(...)\" string"),
    ({"policy_kwargs": "dict(net_arch=dict(pi=[64], vf=[128]))"}, "zoo's actor and critic have one net_arch"),
    ({"policy_kwargs": "dict(optimizer_kwargs=dict(eps=1e-5))"}, "zoo has no equivalent of optimizer_kwargs"),
    ({"policy_kwargs": "dict(n_critics=3)"}, "zoo has no equivalent of n_critics=3"),
    ({"policy_kwargs": "dict(activation_fn=nn.Softsign)"}, "is not a dict(...) of literals"),
    ({"policy_kwargs": "dict(activation_fn='tanh')"}, "expected one of nn.ReLU"),
    ({"policy": "MyPolicy"}, "'MyPolicy' is not one of SB3's policies"),
    ({"env_wrapper": "sb3_contrib.common.wrappers.TimeFeatureWrapper"}, "zoo never imports what a file names"),
    ({"callback": "rl_zoo3.callbacks.ParallelTrainCallback"}, "zoo never imports what a file names"),
    ({"normalize": "dict(norm_obs=True, clip_obs=5.0)"}, "no clip_obs"),
    ({"noise_type": "pink"}, "'pink' is not one of RL Zoo's noise types"),
    ({"n_envs": 4}, "4 envs; zoo's off-policy loop steps one env"),
    ({"normalize": True}, "this algorithm has no normalize_rewards"),
    ({"ent_coef": "auto_x"}, "'auto_x' needs a number"),
    ({"bogus_key": 1}, "unknown hyperparameter 'bogus_key'"),
])
def test_what_zoo_cannot_take_from_an_rl_zoo_entry_is_one_error_naming_it(entry, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = yaml.safe_dump({"Pendulum-v1": {"policy": "MlpPolicy", **entry}})
    with pytest.raises(ZooError) as raised:
        resolved(tmp_path, "sac", "Pendulum-v1", text)
    message = str(raised.value)
    assert says in message and "sac.yml [Pendulum-v1]" in message, message
    assert len(message) < 600 and not (tmp_path / "PWNED").exists()


def test_zoo_train_takes_an_rl_zoo_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ppo.yml").write_text(textwrap.dedent(PPO_FILE))
    result = CliRunner().invoke(app, ["train", "ppo", "Pendulum-v1", "--hyperparams", "ppo.yml", "--steps", 4096,
                                      "--eval-freq", 0])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "runs" / "ppo" / "Pendulum-v1_1" / "config.yml").read_text())
    assert config["hyperparams"]["use_sde"] and config["hyperparams"]["n_steps"] == 1024
    assert "ppo.yml [Pendulum-v1]" in config["sources"]


def test_rl_zoos_spellings_work_in_hp_and_in_zoos_own_files(tmp_path, monkeypatch):
    # RL Zoo's `--hyperparams policy_kwargs:"dict(...)"`, as --hp
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "ppo", "CartPole-v1", "-n", 256, "--eval-freq", 0, "--hp",
                                      "policy_kwargs=dict(net_arch=[16], activation_fn=nn.ReLU)", "--hp",
                                      "normalize=true", "--hp", "policy=MlpPolicy"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "ppo" / "CartPole-v1_1"
    hyperparams = yaml.safe_load((run / "config.yml").read_text())["hyperparams"]
    assert (hyperparams["net_arch"], hyperparams["activation"]) == ([16], "relu")
    assert hyperparams["normalize_observations"] and hyperparams["normalize_rewards"]
    # a zoo-format entry (no policy) with one of them
    noisy = resolved(tmp_path, "ddpg", "Pendulum-v1", "Pendulum-v1: {noise_type: ornstein-uhlenbeck, noise_std: 0.3}")
    assert (noisy.config.noise, noisy.config.noise_std) == ("ornstein_uhlenbeck", 0.3)


def test_a_ppo_minibatch_larger_than_the_rollout_is_the_whole_rollout_as_in_sb3(tmp_path, monkeypatch):
    # RL Zoo's tuned MountainCarContinuous entry: batch_size 256 of an 8-step rollout (it was refused)
    from zoo.agents.ppo import PPOAgent

    sizes = []
    losses = PPOAgent.minibatch_losses
    monkeypatch.setattr(PPOAgent, "minibatch_losses",
                        lambda self, batch, clip: sizes.append(len(batch["advantages"])) or losses(self, batch, clip))
    result = resolved(tmp_path, "ppo", "MountainCarContinuous-v0", """
        MountainCarContinuous-v0:
          normalize: true
          n_envs: 1
          policy: 'MlpPolicy'
          batch_size: 256
          n_steps: 8
          n_epochs: 3
        """)
    assert (result.config.batch_size, result.config.n_steps) == (256, 8)
    from zoo.train import train

    train("ppo", "MountainCarContinuous-v0", seed=0, out_dir=tmp_path, n_timesteps=16,
          hyperparams=str(tmp_path / "ppo.yml"), overrides={"eval_freq": 0})
    assert sizes == [8] * 6  # two rollouts, three epochs of one whole-rollout minibatch each


def test_an_rl_zoo_entry_starts_from_sb3s_defaults_where_zoos_differ(tmp_path):
    # RL Zoo's A2C entries leave SB3's RMSprop, gae_lambda 1 and RL Zoo's single env unsaid;
    # zoo's actor_critic defaults to Adam, TD(0) and 8 envs
    theirs = resolved(tmp_path, "actor_critic", "CartPole-v1", """
        default:
          n_timesteps: !!float 1e6
          policy: 'MlpPolicy'
        CartPole-v1:
          policy: 'MlpPolicy'
          ent_coef: 0.0
        """)
    config = theirs.config
    assert (config.use_rms_prop, config.gae_lambda, config.n_envs, config.n_timesteps) == (True, 1.0, 1, 1_000_000)
    assert theirs.sources[0].startswith("SB3's defaults where zoo's differ")
    ours = resolved(tmp_path, "actor_critic", "CartPole-v1", "CartPole-v1: {ent_coef: 0.0}").config  # no policy
    assert (ours.use_rms_prop, ours.gae_lambda, ours.n_envs) == (False, 0.0, 8)
