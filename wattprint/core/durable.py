"""Rows made durable off the calling thread: ``fsync`` in the background, waited for at close and exit.

A sink writes each row and hands it to the operating system on the calling thread, so a row
is in the file (and survives a crash of the process) as soon as ``write`` returns. What
``fsync`` adds is surviving a crash of the *machine*, and it costs milliseconds of waiting on
a real disk: a training thread should not wait for it at every epoch. So the sink hands a
duplicate of its file descriptor to a :class:`Syncer`, whose thread runs the ``fsync`` (the
file's lock may already be released: ``fsync`` flushes the file, whichever descriptor asks).

The wait comes back where durability is promised: a sink's ``close()`` (a Tracker's ``stop()``),
and the end of the process (interpreter exit and SIGTERM, through :mod:`wattprint.core.exits`)
wait for the pending ``fsync`` calls, at most :data:`WAIT_S` (:data:`ENDING_WAIT_S` while a
signal ends the process). A disk that hangs longer never hangs the training: the caller warns
and goes on. The thread lives only while ``fsync`` calls are pending; it ends on its own.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque

#: Longest wait for the pending ``fsync`` calls of one file at its close, in seconds.
WAIT_S = 5.0
#: The same at the end of the process when a signal ends it.
ENDING_WAIT_S = 0.5

_syncers: weakref.WeakSet[Syncer] = weakref.WeakSet()


class Syncer:
    """Runs ``fsync`` on the descriptors handed to :meth:`submit`, one after another, on a
    thread of its own that ends when none is pending."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._reset()
        _syncers.add(self)
        _watch_exit()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: deque[int] = deque()
        self._pending = 0
        self._thread: threading.Thread | None = None  # running, or about to be
        self._last: threading.Thread | None = None  # the latest started, to join
        #: The first failure of a background fsync not yet reported (see :meth:`take_error`).
        self._error: OSError | None = None
        self._failed = 0

    def submit(self, fd: int) -> None:
        """``fsync`` then close ``fd`` in the background; the descriptor now belongs to the syncer
        (give it a duplicate, ``os.dup``)."""
        with self._cond:
            self._queue.append(fd)
            self._pending += 1
            if self._thread is None:
                self._thread = self._last = threading.Thread(target=self._run, name="wattprint-fsync", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._thread = None
                    self._cond.notify_all()
                    return
                fd = self._queue.popleft()
            try:
                os.fsync(fd)
            except OSError as exc:
                with self._cond:
                    self._failed += 1
                    self._error = self._error or exc
            finally:
                try:
                    os.close(fd)
                except OSError:
                    pass
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def wait(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` for every ``fsync`` submitted so far and for the thread to
        end; True when all are done."""
        deadline = time.monotonic() + timeout_s
        # A bounded acquire: a SIGTERM handler (the closers) may run on a thread that was
        # interrupted inside submit(), holding the lock.
        if not self._lock.acquire(timeout=max(0.0, timeout_s)):
            return False
        try:
            while self._pending or self._thread is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        finally:
            self._lock.release()
        # The thread clears ``_thread`` just before it returns: join it, so none is left behind.
        thread = self._last
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
            return not thread.is_alive()
        return True

    def take_error(self) -> str | None:
        """What went wrong in the background since the last call (None: nothing, or not known
        yet: the lock is held), as a sentence."""
        if not self._lock.acquire(timeout=0.1):  # bounded, as in wait()
            return None
        try:
            error, failed = self._error, self._failed
            self._error, self._failed = None, 0
        finally:
            self._lock.release()
        if error is None:
            return None
        return f"{failed} row write(s) to {self.name} could not be flushed to disk ({error.strerror or error})"


_watching = False


def _watch_exit() -> None:
    """Wait for every pending ``fsync`` when the process ends (after the closers of :mod:`exits`)."""
    global _watching
    if _watching:
        return
    _watching = True
    from wattprint.core import exits

    exits.at_end(wait_all)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_forget_in_child)


def wait_all() -> None:
    """Wait for every syncer's pending ``fsync`` calls, at most :data:`WAIT_S` in all (less while a
    signal ends the process); warn about a file still not flushed."""
    from wattprint.core import exits

    deadline = time.monotonic() + (ENDING_WAIT_S if exits.stopping() else WAIT_S)
    for syncer in list(_syncers):
        if not syncer.wait(max(0.0, deadline - time.monotonic())):
            _warn(f"rows written to {syncer.name} were not yet flushed to disk when the process ended "
                  "(the disk did not answer in time); they are in the file unless the machine crashes")
        error = syncer.take_error()
        if error:
            _warn(error)


def _warn(message: str) -> None:
    import warnings

    warnings.warn(f"wattprint: {message}.", RuntimeWarning, stacklevel=2)


def _forget_in_child() -> None:
    # A forked child has no syncer thread, and its copies of the queued descriptors are the
    # parent's to flush: start afresh.
    for syncer in list(_syncers):
        for fd in syncer._queue:
            try:
                os.close(fd)
            except OSError:
                pass
        syncer._reset()
