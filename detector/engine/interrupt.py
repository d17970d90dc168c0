"""Stopping a training run from outside: SIGTERM (a scheduler, ``kill``, ``docker stop``, torchrun passing its own
on to every rank) handled like Ctrl-C, and the line that says how to resume.

:func:`sigterm_as_interrupt` makes SIGTERM raise :class:`Terminated`, a ``KeyboardInterrupt``, in the main thread, so
it unwinds the run exactly as Ctrl-C does (loader workers stopped, logs flushed, process group left); the tool then
exits with 143 = 128 + 15, the status of a process ended by SIGTERM (``EXIT_SIGTERM`` in ``detector/cli/exit_codes.py``,
where every exit status of the tools is defined). Checkpoints are replaced whole
(``checkpoint.atomic_save``), so the last one written stays usable.

When the whole process group gets the signal (torchrun, Slurm, ``kill -TERM -PGID``), the DataLoader workers die of
it too, and the main process may then see "DataLoader worker ... is killed by signal" on its way out instead of (or
after) :class:`Terminated`; :func:`sigterm_received` tells that such an error is part of the same stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

_received = False  # SIGTERM arrived in this process inside sigterm_as_interrupt (signal handlers are per process)
_active = False  # inside a sigterm_as_interrupt block


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (raised by the handler of :func:`sigterm_as_interrupt`)."""


def sigterm_received() -> bool:
    """True once SIGTERM arrived inside the current (or last) :func:`sigterm_as_interrupt` block."""
    return _received


def raise_if_terminated() -> None:
    """Raise :class:`Terminated` when SIGTERM arrived but its exception was swallowed: a signal handler's exception
    raised inside a weakref callback or ``__del__`` (matplotlib's transforms, the garbage collector) cannot propagate.
    Loops call this at safe points (each training iteration, each epoch), so such a SIGTERM still stops the run.
    Outside a :func:`sigterm_as_interrupt` block it does nothing (a library caller handles its own signals)."""
    if _active and _received:
        raise Terminated("SIGTERM")


def _stop_artefact(exc: BaseException | None, obj: object = None) -> bool:
    """True for an error that is part of a SIGTERM stop, which the run's own message already covers: the
    :class:`Terminated` itself, and, once SIGTERM arrived, what the loader workers' death (they got the signal too)
    makes fail on the way out: "DataLoader worker ... exited unexpectedly", a DataLoader iterator's shutdown, and the
    broken pipe of multiprocessing's resource sharer sending a batch's file descriptor to a worker that is gone."""
    if isinstance(exc, Terminated):
        return True
    if not _received:
        return False
    if "DataLoader" in repr(obj) or (isinstance(exc, RuntimeError) and "DataLoader worker" in str(exc)):
        return True
    return isinstance(exc, BrokenPipeError | ConnectionResetError)


def _quiet_unraisable(previous: Callable[[sys.UnraisableHookArgs], object]) -> Callable[[sys.UnraisableHookArgs], None]:
    """An ``unraisablehook`` that drops the stop's artefacts (:func:`_stop_artefact`; a swallowed :class:`Terminated`
    is recorded already and :func:`raise_if_terminated` raises it at the next safe point) instead of printing
    "Exception ignored in ... Traceback"; the rest go to ``previous``."""

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if not _stop_artefact(unraisable.exc_value, unraisable.object):
            previous(unraisable)

    return hook


def _quiet_excepthook(previous: Callable[..., object]) -> Callable[..., None]:
    """A ``sys.excepthook`` that drops the stop's artefacts (multiprocessing's resource-sharer thread reports its
    broken pipe through it); the rest go to ``previous``."""

    def hook(kind: type[BaseException], value: BaseException, tb: object) -> None:
        if not _stop_artefact(value):
            previous(kind, value, tb)

    return hook


def _handler(owner: int) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        global _received
        if os.getpid() != owner:  # a forked child that kept the handler: stop as on Ctrl-C
            raise KeyboardInterrupt("SIGTERM")
        _received = True
        raise Terminated("SIGTERM")

    return handler


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises :class:`Terminated` in this process; the previous handler is restored after.

    Outside the main thread (where Python cannot set handlers) nothing changes.
    """
    global _received, _active
    _received = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _handler(os.getpid()))
    previous_hook, previous_excepthook = sys.unraisablehook, sys.excepthook
    sys.unraisablehook = _quiet_unraisable(previous_hook)
    sys.excepthook = _quiet_excepthook(previous_excepthook)
    _active = True
    try:
        yield
    finally:
        _active = False
        signal.signal(signal.SIGTERM, previous)
        if not _received:  # stopping: keep the quiet hooks for the iterators and threads ending on the way out
            sys.unraisablehook, sys.excepthook = previous_hook, previous_excepthook


def interrupted_message(exc: BaseException, out_dir: Path | None) -> str:
    """What stopped the run and how to continue it: ``--resume OUT/weights/last.pt`` when that checkpoint exists."""
    what = "stopped by SIGTERM" if isinstance(exc, Terminated) or _received else "interrupted"
    if out_dir is None:
        return f"{what} before training started: nothing to resume"
    last = Path(out_dir) / "weights" / "last.pt"
    if last.is_file():
        return f"{what}: resume with --resume {last} (or train.out_dir={out_dir} train.resume=true)"
    return f"{what} before the first epoch ended: {out_dir} holds no weights/last.pt to resume; start the run again"
