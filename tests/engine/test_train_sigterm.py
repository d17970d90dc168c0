"""SIGTERM stops training as Ctrl-C does: a clean stop, a line saying how to resume, exit status 143, and the
resume works."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from detector.engine.interrupt import Terminated, interrupted_message, sigterm_as_interrupt, sigterm_received
from detector.model.checkpoint_io import load_checkpoint
from tests.helpers import ROOT, tiny_config

TOOL = str(ROOT / "tools" / "train.py")


def test_sigterm_raises_terminated_inside_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt():
        assert not sigterm_received()
    with pytest.raises(Terminated), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert sigterm_received() and isinstance(Terminated(), KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before
    with sigterm_as_interrupt():  # a new block starts afresh
        assert not sigterm_received()


def test_after_sigterm_only_the_stops_artefacts_are_quiet():
    """Once SIGTERM arrived, what the dying loader workers make fail on the way out (a broken pipe of the resource
    sharer's thread, "DataLoader worker ... exited unexpectedly") is not printed as a traceback; any other error is,
    and before a SIGTERM a broken pipe is too."""
    seen: list[BaseException] = []
    before_hook, before_unraisable = sys.excepthook, sys.unraisablehook
    sys.excepthook = lambda kind, value, tb: seen.append(value)
    try:
        with sigterm_as_interrupt():
            sys.excepthook(BrokenPipeError, BrokenPipeError(32, "Broken pipe"), None)  # no SIGTERM yet: reported
            with pytest.raises(Terminated):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            sys.excepthook(BrokenPipeError, BrokenPipeError(32, "Broken pipe"), None)  # the stop's: dropped
            err = RuntimeError("DataLoader worker (pid(s) 123) exited unexpectedly")
            sys.excepthook(RuntimeError, err, None)  # dropped
            sys.excepthook(ValueError, ValueError("a real error"), None)  # reported
        assert [type(e) for e in seen] == [BrokenPipeError, ValueError]
    finally:
        sys.excepthook, sys.unraisablehook = before_hook, before_unraisable


def test_interrupted_message_says_how_to_resume(tmp_path):
    assert interrupted_message(Terminated(), None) == "stopped by SIGTERM before training started: nothing to resume"
    with sigterm_as_interrupt():
        pass  # resets "SIGTERM received"
    assert "holds no weights/last.pt to resume; start the run again" in interrupted_message(
        KeyboardInterrupt(), tmp_path
    )
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "last.pt").write_bytes(b"")
    assert interrupted_message(Terminated(), tmp_path) == (
        f"stopped by SIGTERM: resume with --resume {tmp_path / 'weights' / 'last.pt'} "
        f"(or train.out_dir={tmp_path} train.resume=true)"
    )


def _wait_for(ready, proc: subprocess.Popen, what: str, stderr_path, timeout: float = 600.0):
    """Poll ``ready()`` until it returns a value (not None): fails naming ``what`` when the process ends first or
    ``timeout`` seconds pass (generous: a loaded machine is slow, but a wait that is met returns at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value is not None:
            return value
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"{what}: not seen (exit status {proc.poll()}); stderr ends:\n{stderr_path.read_text()[-3000:]}")


@pytest.mark.slow  # two training subprocesses
def test_sigterm_during_training_exits_143_and_the_run_resumes(tmp_path):
    out = tmp_path / "out"
    cfg = tiny_config(tmp_path / "c.yaml", out, tmp_path / "shapes", train={"epochs": 50, "workers": 1})
    last = out / "weights" / "last.pt"
    stderr_path = tmp_path / "stderr"

    def epoch_under_way():
        """The latest epoch whose progress bar (stderr, ``epoch N/50:``) has started, once it is the 2nd or later:
        the 1st epoch's last.pt is written and the next epoch is running, its persistent loader worker with it."""
        started = [int(n) for n in re.findall(r"epoch (\d+)/50:", stderr_path.read_text())]
        return max(started) if started and max(started) >= 2 else None

    with open(tmp_path / "stdout", "w") as so, open(stderr_path, "w") as se:
        proc = subprocess.Popen([sys.executable, TOOL, str(cfg)], stdout=so, stderr=se, start_new_session=True)
        try:
            under_way = _wait_for(epoch_under_way, proc, "the progress bar of a 2nd epoch", stderr_path)
            assert last.is_file()
            os.killpg(proc.pid, signal.SIGTERM)  # the whole group, as torchrun / Slurm do: the worker gets it too
            code = proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
    stderr = stderr_path.read_text()
    assert code == 143, stderr[-3000:]
    hint = f"warning: stopped by SIGTERM: resume with --resume {last} (or train.out_dir={out} train.resume=true)"
    assert hint in stderr.splitlines()  # a line of its own
    assert "Traceback" not in stderr and "error:" not in stderr
    assert not list((out / "weights").glob(".*tmp*"))  # no temp file of a checkpoint write left behind
    epoch = load_checkpoint(last, require_training_state=True)["epoch"]
    assert under_way - 2 <= epoch < 49  # every epoch finished before the signal is kept (0-based: N-2 for bar N)
    done = subprocess.run(
        [sys.executable, TOOL, str(cfg), f"train.epochs={epoch + 2}", "--resume", str(last)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming {last} at epoch {epoch + 2}/{epoch + 2}" in done.stdout
    assert load_checkpoint(last, require_training_state=True)["epoch"] == epoch + 1


def test_a_sigterm_swallowed_in_a_weakref_callback_still_stops_the_run_quietly(capsys):
    """SIGTERM landing in a weakref callback (seen in matplotlib's transforms while results.png was drawn) raised
    there, was printed as "Exception ignored ... Traceback" and lost: the run went on. Now the exception is not
    printed and the next safe point (each training iteration) raises it."""
    import gc
    import weakref

    from detector.engine.interrupt import raise_if_terminated

    class Thing:
        pass

    with sigterm_as_interrupt():
        thing = Thing()
        ref = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGTERM))  # the handler runs in the callback
        del thing
        gc.collect()
        assert ref() is None
        with pytest.raises(Terminated):
            raise_if_terminated()
    raise_if_terminated()  # outside the guard: nothing (the trainer run by a library caller goes on)
    with sigterm_as_interrupt():
        pass  # resets "SIGTERM received" for the tests that follow
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err
