"""`zoo enjoy --video`: headless recording that decodes to the frames played."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from zoo.cli import app

imageio = pytest.importorskip("imageio.v2")


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_enjoy_records_a_video_with_one_frame_per_reset_and_step(tmp_path, monkeypatch, suffix):
    monkeypatch.chdir(tmp_path)
    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg")
    # The shipped value-iteration agent walks the 13-step path: 2 episodes, 2 x (1 + 13) frames.
    result = CliRunner().invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--episodes", "2",
                                      "--video", f"out/cliff{suffix}"])
    assert result.exit_code == 0, result.output
    assert "recorded 28 frames" in result.output
    frames = [np.asarray(frame) for frame in imageio.mimread(tmp_path / "out" / f"cliff{suffix}", memtest=False)]
    assert len(frames) == 28
    assert frames[0].shape[:2] == (4 * 32, 12 * 32)  # the env's 32-pixel cells, not resized
    assert not any(p.name.startswith(".") for p in (tmp_path / "out").iterdir())  # no temporary left


def test_recording_holds_no_mp4_frames_and_a_bounded_gif(tmp_path, monkeypatch):
    """An mp4's frames stream to ffmpeg as they come (they were all held for one write: 1.35 GB
    per minute of Pendulum); a gif, written whole, stops at MAX_GIF_FRAMES with one error and
    leaves no file."""
    import zoo.video

    pytest.importorskip("imageio_ffmpeg")
    monkeypatch.chdir(tmp_path)

    def held_all(*args, **kwargs):
        raise AssertionError("mp4 frames were held for one write")

    monkeypatch.setattr(imageio, "mimsave", held_all)  # the gif path's whole write, not the mp4's
    result = CliRunner().invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--episodes", "2",
                                      "--video", "cliff.mp4"])
    assert result.exit_code == 0 and "recorded 28 frames" in result.output, result.output
    assert len(imageio.mimread(tmp_path / "cliff.mp4", memtest=False)) == 28
    # -n 30: two 13-step episodes and 4 steps of a third, each reset and step a frame: 33
    result = CliRunner().invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "-n", "30",
                                      "--video", "cliff.mp4"])
    assert result.exit_code == 0 and "recorded 33 frames" in result.output, result.output
    monkeypatch.setattr(zoo.video, "MAX_GIF_FRAMES", 20)
    result = CliRunner().invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--episodes", "2",
                                      "--video", "cliff.gif"])
    assert result.exit_code == 1 and "a gif holds at most 20 frames here" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cliff.mp4"]  # no gif, no temporary


def test_a_pixel_agent_records_what_it_plays(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["enjoy", "vision_dqn", "CliffWalking4x12-v0", "--episodes", "1",
                                      "--video", "v.gif"])
    assert result.exit_code == 0, result.output
    assert "recorded 14 frames" in result.output and len(imageio.mimread(tmp_path / "v.gif")) == 14


def test_unrecordable_requests_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--video", "v.avi"])
    assert result.exit_code == 1 and "ending in .mp4 or .gif" in result.output
    assert "Playing" not in result.output  # refused before any episode is played, not after them all
    # without the mp4 writer: said before playing too
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)
    result = runner.invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--video", "v.mp4"])
    assert result.exit_code == 1 and "mp4 needs imageio-ffmpeg" in result.output and "Playing" not in result.output
    result = runner.invoke(app, ["enjoy", "value_iteration", "CliffWalking4x12-v0", "--video", "v.gif", "--render"])
    assert result.exit_code == 1 and "drop --render" in result.output


def test_recording_on_a_headless_machine_prints_no_sdl_error(tmp_path):
    """pygame's SDL, looking for a display it does not need for rgb_array frames, printed
    "error: XDG_RUNTIME_DIR is invalid or not set" during every headless recording: the
    commands that open no window now use SDL's dummy video driver (a driver set by the user
    stays)."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items()
           if key not in ("SDL_VIDEODRIVER", "XDG_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "zoo", "enjoy", "ppo", "Pendulum-v1", "--video",
                           str(tmp_path / "clip.gif"), "-n", "10"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "XDG_RUNTIME_DIR" not in done.stderr and "error" not in done.stderr.lower(), done.stderr
    assert (tmp_path / "clip.gif").stat().st_size > 0
