"""The explorers' worker: newest job wins, cancellation reaches the running job, close ends the thread."""
import threading

import pytest

from aeteach.worker import Worker


def test_a_new_job_cancels_the_running_one_and_runs_next():
    worker = Worker("test-worker", "background")
    started, seen = threading.Event(), []

    def slow(stop):
        started.set()
        seen.append(stop.wait(10))  # True only if a newer job cancelled this one

    worker.submit(slow)
    assert started.wait(5)
    worker.submit(lambda stop: seen.append("newer"))
    assert worker.wait(5)
    assert seen == [True, "newer"]
    worker.close()


def test_only_the_newest_of_queued_jobs_runs():
    worker = Worker("test-worker", "background")
    started, gate, ran = threading.Event(), threading.Event(), []
    worker.submit(lambda stop: (started.set(), gate.wait(5)))
    assert started.wait(5)  # else the next submit would replace the gate job before the thread takes it
    for i in range(5):
        worker.submit(lambda stop, i=i: ran.append(i))
    gate.set()
    assert worker.wait(5) and ran == [4]
    worker.close()


def test_close_cancels_the_job_and_ends_the_thread():
    worker = Worker("test-worker", "background")
    started, cancelled = threading.Event(), []
    worker.submit(lambda stop: (started.set(), cancelled.append(stop.wait(10))))
    assert started.wait(5)
    worker.close()
    worker.thread.join(5)
    assert not worker.thread.is_alive() and cancelled == [True]
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(lambda stop: None)


def test_no_thread_until_the_first_job_and_none_inline():
    background, inline = Worker("a", "background"), Worker("b", "inline")
    assert background.thread is None
    ran = []
    inline.submit(lambda stop: ran.append(threading.current_thread()))
    assert ran == [threading.current_thread()] and inline.thread is None and inline.wait(0)
