"""Recording an agent to a video file, headless: mp4 (H.264 through imageio-ffmpeg) or gif.

Frames are the env's `rgb_array` render after every reset and step, so a video of n steps
over e episodes has n + e frames. The file is written next to its destination and renamed
into place, so an interrupted recording never leaves half a video. Needs the `video` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ZooError
from zoo.evaluation import EvaluationResult, evaluate_agent
from zoo.files import atomic_path

FORMATS = (".mp4", ".gif")


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


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: int) -> Path:
    path = check_video_path(path)
    import imageio.v2 as imageio

    if not frames:
        raise ZooError("No frames to record.")
    with atomic_path(path) as temporary:
        if path.suffix.lower() == ".gif":
            imageio.mimsave(temporary, list(frames), duration=1000.0 / fps, loop=0)
        else:
            # macro_block_size=1: keep the frame size (H.264 would otherwise resize to multiples of 16)
            ffmpeg_options: dict[str, Any] = {"fps": fps, "macro_block_size": 1, "format": "FFMPEG"}
            imageio.mimsave(temporary, list(frames), **ffmpeg_options)
    return path


def record_agent(agent: Any, env: Any, path: str | Path, episodes: int = 1, *, deterministic: bool = True,
                 seed: int | None = None) -> tuple[EvaluationResult, int]:
    """Play `episodes` on `env` (made with render_mode='rgb_array') and save them to `path`.
    Returns the episodes' results and the number of frames written."""
    if env.render_mode != "rgb_array":
        raise ZooError(f"Recording needs an env that renders rgb_array; this one renders {env.render_mode!r}.")
    check_video_path(path)
    frames: list[np.ndarray] = []

    def grab(env):
        frames.append(np.asarray(env.render(), dtype=np.uint8))

    result = evaluate_agent(agent, env, episodes, deterministic=deterministic, seed=seed, on_step=grab)
    write_video(frames, path, fps=int(env.metadata.get("render_fps") or 30))
    return result, len(frames)
