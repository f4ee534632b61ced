"""The garbage collector is deferred only while restores run, and restored as it was."""

from __future__ import annotations

import gc
import threading

from app.engine import store


def test_collector_is_paused_during_a_restore_and_enabled_afterwards():
    assert gc.isenabled()
    with store._gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_by_someone_else_stays_off():
    gc.disable()
    try:
        with store._gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_restores_in_threads_enable_it_only_after_the_last_one():
    inside, release = threading.Event(), threading.Event()

    def long_restore() -> None:
        with store._gc_paused():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=long_restore)
    worker.start()
    inside.wait(5)
    with store._gc_paused():
        pass
    assert not gc.isenabled()  # the other restore is still running
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_an_exception_in_a_restore_still_enables_the_collector():
    try:
        with store._gc_paused():
            raise ValueError("kaputt")
    except ValueError:
        pass
    assert gc.isenabled()
