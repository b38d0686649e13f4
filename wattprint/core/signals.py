"""Flush running trackers when the process is told to terminate.

SIGTERM's default action ends the process without running ``atexit`` or ``finally`` blocks,
so a scheduler's kill would lose the run row. While a tracker runs, and only if SIGTERM still
has its default action (a framework's or the user's own handler is never replaced), a handler
stops every running tracker with ``interrupted=True`` and then re-delivers SIGTERM with the
default action, so the process still exits as the signal asks (status 128+15 to a shell).
SIGINT needs nothing: Python turns it into ``KeyboardInterrupt``, which the context manager,
the callbacks and the atexit net already handle.

Python runs the handler on the main thread, between two bytecodes of whatever it was doing. If
that was the tracker's own work (a sensor read under the meter's lock, a CSV append under the
file's lock), stopping there would wait forever for a lock the interrupted code holds. So the
tracker marks such work with :func:`critical`, and a SIGTERM arriving inside it is handled as
soon as the work is done.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

_running: weakref.WeakSet = weakref.WeakSet()
_installed = False
_lock = threading.Lock()
_busy = 0  # depth of tracker work in progress on the main thread
_deferred = False  # a SIGTERM arrived during that work


@contextmanager
def critical() -> Iterator[None]:
    """Tracker work that holds locks: a SIGTERM arriving during it is handled right after."""
    global _busy, _deferred
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers only ever run on the main thread
        return
    _busy += 1
    try:
        yield
    finally:
        _busy -= 1
        if _busy == 0 and _deferred:
            _deferred = False
            _stop_all_and_exit()


def _on_sigterm(signum, frame) -> None:
    global _deferred
    if _busy:
        _deferred = True
        return
    _stop_all_and_exit()


def _stop_all_and_exit() -> None:
    for tracker in list(_running):
        try:
            tracker.stop(interrupted=True)
        except Exception as exc:  # the process is going down; say why the row is missing
            log.warning("wattprint: could not write the final record on SIGTERM: %s", exc)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def register(tracker) -> None:
    """Track ``tracker`` for SIGTERM; install the handler if SIGTERM is at its default."""
    global _installed
    with _lock:
        _running.add(tracker)
        if _installed or threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
                _installed = True
        except (ValueError, OSError, AttributeError):  # no signals here (some platforms, threads)
            pass


def unregister(tracker) -> None:
    """Forget ``tracker``; restore the default SIGTERM action when no tracker runs."""
    global _installed
    with _lock:
        _running.discard(tracker)
        if _installed and not _running and threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) is _on_sigterm:
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
            except (ValueError, OSError):
                pass
            _installed = False
