"""`zoo upload` / `zoo download` / `--from-hub`, without the network: the packaged folder is
checked, and the Hub client is replaced by fakes that copy folders around."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from zoo.cli import app
from zoo.hub import open_folder
from zoo.paths import trained_dir

hub = pytest.importorskip("huggingface_hub")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def front_matter(card: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", card, re.S)
    assert match, card[:200]
    return yaml.safe_load(match.group(1))


def test_upload_out_writes_a_complete_model_folder(tmp_path, monkeypatch):
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    monkeypatch.chdir(tmp_path)
    result = invoke("upload", "value_iteration", "CliffWalking4x12-v0", "--repo-id", "me/vi-cliff", "--out", "pkg")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "pkg"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.yml", "model.zip", "replay.mp4",
                                                         "results.json"]
    metadata = front_matter((folder / "README.md").read_text())
    assert metadata["library_name"] == "zoo"
    assert {"reinforcement-learning", "deep-reinforcement-learning", "CliffWalking4x12-v0"} <= set(metadata["tags"])
    metric = metadata["model-index"][0]["results"][0]["metrics"][0]
    assert metric["type"] == "mean_reward" and metric["value"] == "-13.00 +/- 0.00"
    assert metadata["model-index"][0]["results"][0]["dataset"]["name"] == "CliffWalking4x12-v0"
    results = json.loads((folder / "results.json").read_text())
    assert results["mean_return"] == -13.0 and results["episodes"] == 10
    config = yaml.safe_load((folder / "config.yml").read_text())
    assert config["algo"] == "value_iteration" and "gamma" in config["hyperparams"]
    assert open_folder(folder, algo="value_iteration", env_id="CliffWalking4x12-v0").algo == "value_iteration"
    assert len(imageio.mimread(folder / "replay.mp4", memtest=False)) == 14  # reset + the 13 steps


def test_model_card_of_a_deep_agent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("upload", "dqn", "CartPole-v1", "--repo-id", "me/dqn", "--out", "pkg", "--no-video",
                    "--episodes", 3)
    assert result.exit_code == 0, result.output
    metric = front_matter((tmp_path / "pkg" / "README.md").read_text())["model-index"][0]["results"][0]["metrics"][0]
    assert re.fullmatch(r"-?\d+\.\d\d \+/- \d+\.\d\d", metric["value"])
    assert not (tmp_path / "pkg" / "replay.mp4").exists()
    assert invoke("upload", "dqn", "CartPole-v1", "--repo-id", "me/dqn", "--out", "pkg").exit_code == 1  # not empty


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """A Hub in a folder: upload_folder copies into it, snapshot_download copies out."""
    remote = tmp_path / "remote"
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id))

        def upload_folder(self, folder_path, repo_id, **kwargs):
            calls.append(("upload_folder", repo_id))
            shutil.copytree(folder_path, remote / repo_id)

    def snapshot_download(repo_id, local_dir, **kwargs):
        if not (remote / repo_id).exists():
            raise FileNotFoundError(f"404 for {repo_id} (token {__import__('os').environ.get('HF_TOKEN')})")
        shutil.copytree(remote / repo_id, local_dir, dirs_exist_ok=True)
        return local_dir

    monkeypatch.setattr(hub, "HfApi", FakeApi)
    monkeypatch.setattr(hub, "snapshot_download", snapshot_download)
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_123")
    return calls


def test_push_then_download_and_play_from_the_hub(tmp_path, monkeypatch, fake_hub):
    monkeypatch.chdir(tmp_path)
    result = invoke("upload", "value_iteration", "CliffWalking4x12-v0", "--repo-id", "me/vi-cliff", "--no-video")
    assert result.exit_code == 0, result.output
    assert fake_hub == [("create_repo", "me/vi-cliff"), ("upload_folder", "me/vi-cliff")]
    assert "https://huggingface.co/me/vi-cliff" in result.output and "hf_secret" not in result.output

    result = invoke("download", "me/vi-cliff")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "hub" / "me" / "vi-cliff" / "model.zip").exists()
    result = invoke("evaluate", "value_iteration", "CliffWalking4x12-v0", "--from-hub", "me/vi-cliff", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["mean_return"] == -13.0


def test_rl_zoos_push_to_hub_words_name_the_repo_and_the_commit(tmp_path, monkeypatch, fake_hub):
    from zoo.cli import rl_zoo_arguments

    monkeypatch.chdir(tmp_path)
    messages = []
    monkeypatch.setattr(hub.HfApi, "upload_folder", lambda self, folder_path, repo_id, **kwargs: messages.append(
        (repo_id, kwargs["commit_message"])), raising=False)
    # python -m rl_zoo3.push_to_hub --algo ... --env ... -orga ORG -m MESSAGE: the repo ORG/ALGO-ENV
    words = ["upload", "--algo", "value_iteration", "--env", "CliffWalking4x12-v0", "-orga", "me", "-m",
             "Initial commit", "--no-video"]
    result = invoke(*rl_zoo_arguments(words))
    assert result.exit_code == 0, result.output
    assert messages == [("me/value_iteration-CliffWalking4x12-v0", "Initial commit")]
    assert invoke("upload", "value_iteration", "CliffWalking4x12-v0", "-orga", "me", "-name", "vi", "--no-video")\
        .exit_code == 0
    assert messages[-1] == ("me/vi", "Upload agent with zoo")  # zoo's own message without -m
    for args, says in ((["--repo-id", "me/x", "-orga", "me"], "Name the Hub repo once: --repo-id ORG/NAME, or RL "
                                                               "Zoo's -orga ORG (with -name NAME); not both."),
                       ([], "Name the Hub repo: --repo-id ORG/NAME, or RL Zoo's -orga ORG (-name NAME, default "
                            "value_iteration-CliffWalking4x12-v0)."),
                       (["-orga", "me/.."], "The Hub repo id must look like ORG/NAME")):
        refused = invoke("upload", "value_iteration", "CliffWalking4x12-v0", *args, "--no-video")
        assert refused.exit_code == 1 and says in " ".join(refused.output.split()), refused.output
    assert len(messages) == 2  # nothing pushed for a refused command


def _replayed(results: dict, model) -> dict:
    """results.json's own command, on the packaged checkpoint: what it reports."""
    import shlex

    words = shlex.split(results["command"])
    assert words[:2] == ["zoo", "evaluate"]
    result = invoke(*words[1:], "--path", model, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_rl_zoos_push_to_hub_flags_shape_the_evaluation_and_the_video(tmp_path, monkeypatch):
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    from zoo.cli import rl_zoo_arguments

    monkeypatch.chdir(tmp_path)
    # python -m rl_zoo3.push_to_hub's words: -n is the video's env steps, over as many episodes as fit
    words = ["upload", "--algo", "value_iteration", "--env", "CliffWalking4x12-v0", "-orga", "me", "-n", "30",
             "--seed", "7", "--num-threads", "1", "--verbose", "0", "--device", "cpu", "--deterministic",
             "--out", "pkg"]
    result = invoke(*rl_zoo_arguments(words))
    assert result.exit_code == 0 and result.output == "", result.output  # --verbose 0: nothing printed
    results = json.loads((tmp_path / "pkg" / "results.json").read_text())
    assert results["seed"] == 7 and results["deterministic"] and results["env_kwargs"] == {}
    assert results["command"] == "zoo evaluate value_iteration CliffWalking4x12-v0 --episodes 10 --seed 7"
    # 13-step episodes: two whole ones and 4 steps of a third, each with its reset frame
    assert len(imageio.mimread(tmp_path / "pkg" / "replay.mp4", memtest=False)) == 30 + 3
    assert invoke("upload", "value_iteration", "CliffWalking4x12-v0", "-orga", "me", "--no-render", "--out",
                  "bare").exit_code == 0
    assert not (tmp_path / "bare" / "replay.mp4").exists()  # --no-render: RL Zoo's no video


def test_upload_evaluates_as_asked_and_its_results_command_repeats_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "model.zip"
    shutil.copy(trained_dir() / "dqn" / "CartPole-v1" / "model.zip", model)
    common = ["upload", "dqn", "CartPole-v1", "--path", model, "-orga", "me", "--no-video", "--episodes", "4",
              "--seed", "3", "--env-kwargs", "max_episode_steps:40"]
    result = invoke(*common, "--stochastic", "--out", "stochastic")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "stochastic" / "results.json").read_text())
    assert not results["deterministic"] and results["env_kwargs"]["max_episode_steps"] == 40
    assert max(results["lengths"]) <= 40  # played on the env --env-kwargs made
    assert "--stochastic" in results["command"] and "--env-kwargs max_episode_steps:40" in results["command"]
    assert "4 stochastic episodes" in (tmp_path / "stochastic" / "README.md").read_text()

    assert invoke(*common, "--n-envs", "2", "--out", "lockstep").exit_code == 0
    results = json.loads((tmp_path / "lockstep" / "results.json").read_text())
    assert results["deterministic"] and "--n-envs 2" in results["command"]
    replayed = _replayed(results, model)
    assert (replayed["mean_return"], replayed["lengths"]) == (results["mean_return"], results["lengths"])

    for args, says in ((["--n-envs", "2", "--stochastic"], "drop --stochastic (or --n-envs)"),
                       (["-n", "0"], "-n/--n-timesteps must be at least 1 (the video's env steps), got 0")):
        refused = invoke(*common, *args, "--out", "refused")
        assert refused.exit_code == 1 and says in " ".join(refused.output.split()), refused.output
        assert not (tmp_path / "refused").exists()
    from zoo.errors import ZooError
    from zoo.hub import Showing

    with pytest.raises(ZooError, match="in lockstep is deterministic"):  # the library's callers too
        Showing(n_envs=2, deterministic=False)


def test_a_downloaded_agent_of_another_algo_or_env_is_refused(tmp_path, monkeypatch, fake_hub):
    monkeypatch.chdir(tmp_path)
    assert invoke("upload", "value_iteration", "CliffWalking4x12-v0", "--repo-id", "me/vi", "--no-video").exit_code == 0
    result = invoke("enjoy", "policy_iteration", "CliffWalking4x12-v0", "--from-hub", "me/vi")
    assert result.exit_code == 1 and "holds a 'value_iteration' agent" in result.output
    result = invoke("evaluate", "value_iteration", "FrozenLake-v1", "--from-hub", "me/vi")
    assert result.exit_code == 1 and "CliffWalking4x12-v0" in result.output
    result = invoke("download", "me/missing")
    assert result.exit_code == 1 and "Could not download me/missing" in result.output
    assert "hf_secret" not in result.output  # the token never shows, even inside an error
    # offline (huggingface_hub's error is a paragraph, its cause the connection): said in one line
    def offline(**kwargs):
        try:
            raise ConnectionError("[Errno -2] Name or service not known")
        except ConnectionError as cause:
            raise RuntimeError("An error happened while trying to locate the files on the Hub, and we cannot find "
                               "the appropriate snapshot folder...\nPlease check your internet connection") from cause

    monkeypatch.setattr(hub, "snapshot_download", offline)
    result = invoke("download", "me/vi")
    assert result.exit_code == 1 and "Could not download me/vi: the Hub could not be reached" in result.output
    assert "snapshot folder" not in result.output
    assert invoke("upload", "dqn", "CartPole-v1", "--repo-id", "no-slash").exit_code == 1
    # an id that would make runs/hub/ORG/NAME point elsewhere (a download replaces that folder)
    # is refused by zoo before the Hub is asked, whatever huggingface_hub would say
    (tmp_path / "keep.txt").write_text("mine")
    for repo_id in ("../..", "../x", "me/..", "me/a..b", "me/-x"):
        refused = invoke("download", repo_id)
        assert refused.exit_code == 1 and "The Hub repo id must look like ORG/NAME" in refused.output, refused.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
