"""Ctrl-C or SIGTERM during training: finish the current step, then stop and save.

The first SIGINT (Ctrl-C) or SIGTERM (what `timeout`, systemd, Slurm and Docker send) only
raises a flag that the training loop checks between steps, so an update is never cut in half
and what was learned is saved. A second one acts at once (SIGINT raises KeyboardInterrupt,
SIGTERM terminates), for a user who really wants out now.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# What shells, `timeout`, systemd and Slurm expect of a process stopped by a signal: 128 + its
# number (here after a clean save). A child killed outright reports minus the number instead.
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


def signal_name_of_exit(code: int | None) -> str | None:
    """The signal (SIGINT or SIGTERM) that a child process's return code says stopped it, else None."""
    for name, exit_code in EXIT_CODES.items():
        if code in (exit_code, -signal.Signals[name].value):
            return name
    return None


class StopFlag:
    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None  # which signal asked, once one did


@contextmanager
def stop_on_interrupt(flag: StopFlag | None = None) -> Iterator[StopFlag]:
    """`flag`: one already in use (a tune worker's), so that a signal that came before this
    block still stops the training inside it."""
    flag = StopFlag() if flag is None else flag
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed from the main thread
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if not flag.requested:  # the stop is named after the signal that asked first, not a relay of it
            flag.signal_name = signal.Signals(signum).name
        flag.requested = True
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)

    for signum in previous:
        signal.signal(signum, request_stop)
    try:
        yield flag
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_passing_on(stop: StopFlag, running: Callable[[], list[Any]], wait: Callable[[list[Any]], object]) -> bool:
    """Wait for child processes (`running()` lists the live ones; `wait(alive)` blocks a little)
    inside `stop_on_interrupt()`. After this process's first signal each child gets SIGTERM once,
    its own stop flag: it stops after its step and saves. A Ctrl-C in a terminal reached them
    already; this covers a signal sent to this process alone (`timeout`, a scheduler). Returns
    whether it passed a signal on."""
    passed_on = False
    while alive := running():
        if stop.requested and not passed_on:
            for child in alive:
                child.terminate()
            passed_on = True
        wait(alive)
    return passed_on


@contextmanager
def ctrl_c_held_for_children() -> Iterator[None]:
    """SIGINT blocked (held pending, not lost) while child processes are started. The children
    inherit the blocked mask across fork and exec, so a Ctrl-C during their seconds of imports
    waits in them until they can stop cleanly (`ctrl_c_released`) instead of killing them
    mid-import or printing a traceback; this process gets its own Ctrl-C as soon as the block
    ends. Ignoring SIGINT instead (SIG_IGN, inherited the same way) lost a Ctrl-C that came
    while the last child was being started: the parent restored its handler only afterwards
    (CI, 2026-11-26: `zoo tune` ran to the end after a Ctrl-C).

    A mask is a thread's: a Ctrl-C to the process may be taken by another thread that does not
    block it, whose C handler passes it to the main thread's handler at once - not lost either.
    multiprocessing's resource tracker is started first: starting it unblocks SIGINT in the
    calling thread (it blocks and then unblocks SIGINT and SIGTERM rather than restoring the
    mask), which would end the block before the children inherit it."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield  # only the main thread receives Python's signal handlers; no signal masks on Windows
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def ctrl_c_released() -> Iterator[None]:
    """In a child started under `ctrl_c_held_for_children`, inside its `stop_on_interrupt()`:
    SIGINT unblocked, so a Ctrl-C that came during its start-up reaches the stop flag now;
    blocked again (as inherited) before the handler goes. Nothing to do where it was not held."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by `sigterm_raises`."""


@contextmanager
def sigterm_raises() -> Iterator[Callable[[], None]]:
    """SIGTERM as an exception (Terminated), raised by the call the block gets when the block
    calls it (between two steps), so that what the block writes is cleaned up as after Ctrl-C
    before the process ends: `zoo enjoy --video` killed by the default handler left its ffmpeg
    to complain about the cut stream, and its temporary file for the next recording to remove.
    Raised from the handler itself, it cut a frame's write to ffmpeg in two, and ffmpeg
    complained of the partial frame (CI, 2026-11-27). A second SIGTERM ends the process at once."""
    flag = StopFlag()

    def check() -> None:
        if flag.requested:
            raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def note_terminated(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        flag.requested, flag.signal_name = True, "SIGTERM"

    previous = signal.signal(signal.SIGTERM, note_terminated)
    try:
        yield check
    finally:
        signal.signal(signal.SIGTERM, previous)
