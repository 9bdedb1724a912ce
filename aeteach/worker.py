"""Where an explorer's training runs: a background thread, or inline in the widget callback.

background: one daemon thread per explorer runs the newest job; submitting a job cancels the running one.
    The notebook stays responsive while a model trains, and partial results arrive from the thread.
inline: the job runs at once in the callback that submitted it, and partial results are sent from there.
    The kernel is busy while it trains (at most the explorer's time budget), but nothing depends on widget
    updates from another thread, which Colab's front end drops (googlecolab/colabtools#3373).

`retrain_mode()` picks one: the argument, else the AETEACH_RETRAIN environment variable, else inline on
Colab and background elsewhere. This module imports no widget library.
"""
import os
import sys
import threading

import torch

MODES = ("background", "inline")


def retrain_mode(mode=None):
    """'background' or 'inline': the argument, else $AETEACH_RETRAIN, else inline on Colab, background elsewhere."""
    source = "retrain"
    if mode is None:
        mode, source = os.environ.get("AETEACH_RETRAIN") or None, "AETEACH_RETRAIN"
    if mode is None:
        return "inline" if "google.colab" in sys.modules else "background"
    if mode not in MODES:
        raise ValueError(f"{source} must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


class Worker:
    """Runs jobs job(stop), newest first; `stop` is a threading.Event set when a newer job arrives or on close()."""

    def __init__(self, name, mode=None):
        self.name, self.mode = name, retrain_mode(mode)
        self._cond = threading.Condition()
        self._job, self._stop, self._busy, self._closed = None, threading.Event(), False, False
        self.thread = None  # started by the first background job, so an explorer that fails to build leaves none

    def submit(self, job):
        """Run `job` inline now, or hand it to the thread, cancelling the job running there."""
        if self._closed:
            raise RuntimeError(f"{self.name} is closed; create a new explorer")
        if self.mode == "inline":
            self._stop = threading.Event()  # nothing can supersede it: the kernel handles no message meanwhile
            job(self._stop)
            return
        with self._cond:
            self._stop.set()
            self._job = job
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self.thread.start()
            self._cond.notify_all()

    def cancel(self):
        """Cancel the running job and drop a queued one (a revisit of a cached setting needs neither)."""
        with self._cond:
            self._job = None
            self._stop.set()

    def close(self):
        """Cancel any job and end the thread."""
        with self._cond:
            self._job, self._closed = None, True
            self._stop.set()
            self._cond.notify_all()

    @property
    def closed(self):
        return self._closed

    def _loop(self):
        # Torch ops from a second thread start a second OpenMP team, which competes with the main thread's idle,
        # still-spinning one: fit ran 3x slower here with 2 threads. One thread for this worker runs at full speed
        # and leaves the notebook's own setting alone (the setting is per thread).
        torch.set_num_threads(1)
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job, self._job = self._job, None
                self._stop = stop = threading.Event()
                self._busy = True
            try:
                job(stop)
            finally:
                del job  # an idle thread must not keep the last job's explorer alive
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait(self, timeout=120):
        """Block until no job is queued or running; False on timeout. Inline jobs are already done."""
        with self._cond:
            return self._cond.wait_for(lambda: self._job is None and not self._busy, timeout)
