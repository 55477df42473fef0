"""Recording an agent to a video file, headless: mp4 (H.264 through imageio-ffmpeg) or gif.

Frames are the env's `rgb_array` render after every reset and step, so a video of n steps
over e episodes has n + e frames. The file is written next to its destination and renamed
into place, so an interrupted recording never leaves half a video. Needs the `video` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.evaluation import EvaluationResult, evaluate_agent
from zoo.files import atomic_path

FORMATS = (".mp4", ".gif")
MAX_GIF_FRAMES = 2000  # ~1.5 GB of Pendulum's 500x500 frames, held until the gif is written


def check_video_path(path: str | Path) -> Path:
    """The format and the writer it needs, checked before any episode is played (they were
    checked after: a long recording played through, then failed on a missing package)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ZooError(f"Cannot record '{path}': use a file name ending in {' or '.join(FORMATS)}.")
    try:
        import imageio.v2  # noqa: F401
    except ImportError:
        raise ZooError("Recording needs imageio: pip install 'zoo[video]'.") from None
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401  (imageio's mp4 writer)
        except ImportError:
            raise ZooError("mp4 needs imageio-ffmpeg: pip install 'zoo[video]' (or record a .gif).") from None
    return path


def record_agent(agent: Any, env: Any, path: str | Path, episodes: int = 1, *, deterministic: bool = True,
                 seed: int | None = None, max_steps: int | None = None,
                 on_env_step: Callable[[], None] | None = None,
                 on_episode: Callable[[float, int], None] | None = None) -> tuple[EvaluationResult, int]:
    """Play `episodes` (up to `max_steps` env steps, as evaluate_agent, which calls `on_env_step`
    and `on_episode`) on `env` (made with render_mode='rgb_array') and save them to `path`. Returns the episodes'
    results and the number of frames written."""
    if env.render_mode != "rgb_array":
        raise ZooError(f"Recording needs an env that renders rgb_array; this one renders {env.render_mode!r}.")
    path = check_video_path(path)
    with video_writer(path, fps=int(env.metadata.get("render_fps") or 30)) as video:
        result = evaluate_agent(agent, env, episodes, deterministic=deterministic, seed=seed, max_steps=max_steps,
                                on_step=lambda env: video.add(np.asarray(env.render(), dtype=np.uint8)),
                                on_env_step=on_env_step, on_episode=on_episode)
    return result, video.frames


class _Frames:
    """What video_writer hands the recording: add(frame), and the count of frames added."""

    def __init__(self, path: Path, writer: Any):
        self.path, self.writer, self.frames = path, writer, 0
        self.held: list[Any] = []  # a gif's frames, written whole at the end

    def add(self, frame: np.ndarray) -> None:
        self.frames += 1
        if self.writer is not None:
            self.writer.append_data(frame)
        elif self.frames > MAX_GIF_FRAMES:
            raise ZooError(f"{self.path}: a gif holds at most {MAX_GIF_FRAMES} frames here (it is written whole, "
                           "from memory); record this many as an .mp4.")
        else:
            self.held.append(frame)


@contextmanager
def video_writer(path: Path, fps: int) -> Iterator[_Frames]:
    """Frames into `path` as they come, in bounded memory: an mp4 gets each frame streamed to
    ffmpeg (they were all held for one write at the end: `zoo enjoy sac Pendulum-v1 --video
    x.mp4 --episodes 10`, 2010 frames of 500x500, peaked at 1.74 GB, now 267 MB whatever the
    length; measured 2026-11-27); a gif, which imageio writes whole, holds at most
    MAX_GIF_FRAMES. The file appears at its destination only once complete (atomic_path)."""
    import imageio.v2 as imageio

    with atomic_path(path) as temporary:
        writer = (imageio.get_writer(temporary, format="FFMPEG", fps=fps, macro_block_size=1)  # keep the size:
                  if path.suffix.lower() == ".mp4" else None)  # H.264 would resize to multiples of 16
        video = _Frames(path, writer)
        try:
            yield video
        finally:
            if writer is not None:
                writer.close()
        if not video.frames:
            raise ZooError("No frames to record.")
        if writer is None:
            imageio.mimsave(temporary, video.held, duration=1000.0 / fps, loop=0)
