"""What still measures when the process ends: closed in one place, in an explicit order.

Anything that must write its rows if the process ends early registers a closer here while it
runs. At interpreter exit (an exception nobody caught, ``sys.exit``, a framework without an
exception hook) and on SIGTERM, the closers run in :data:`ORDER`: first the trainings (a
callback's partial epoch, written while its tracker still runs), then the trackers (their run
rows, marked interrupted). Each closer runs at most once, and one failing does not stop the
others.

SIGTERM's default action ends the process without running ``atexit`` or ``finally`` blocks,
so a scheduler's kill would lose the rows. While anything is registered, and only if SIGTERM
still has its default action (a framework's or the user's own handler is never replaced), a
handler runs the closers and then re-delivers SIGTERM with the default action, so the process
still exits as the signal asks (status 128+15 to a shell). SIGINT needs nothing: Python turns it
into ``KeyboardInterrupt``, which the context managers and callbacks already handle.

Python runs a signal handler on the main thread, between two bytecodes of whatever it was
doing. If that was wattprint's own work (a sensor read under the meter's lock, a CSV append
under the file's lock), closing there would wait forever for a lock the interrupted code holds.
Such work is marked with :func:`critical`, and a SIGTERM arriving inside it is handled as soon
as the work is done.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

TRAINING = "training"
TRACKER = "tracker"
#: Closers run in this order.
ORDER = (TRAINING, TRACKER)

Closer = Callable[[], object]

_lock = threading.RLock()
_closers: dict[str, list[Closer]] = {kind: [] for kind in ORDER}
_atexit_installed = False
_sigterm_installed = False
_busy = 0  # depth of critical work in progress on the main thread
_deferred = False  # a SIGTERM arrived during that work


def register(close: Closer, kind: str) -> None:
    """Run ``close()`` if the process ends while it is registered (``kind``: one of :data:`ORDER`)."""
    global _atexit_installed
    with _lock:
        _closers[kind].append(close)
        if not _atexit_installed:
            atexit.register(close_all)
            _atexit_installed = True
        _install_sigterm()


def unregister(close: Closer) -> None:
    """Forget ``close`` (its owner ended normally); restore SIGTERM's default when nothing is left."""
    with _lock:
        for closers in _closers.values():
            if close in closers:
                closers.remove(close)
        if not any(_closers.values()):
            _restore_sigterm()


def close_all() -> None:
    """Run every registered closer, in :data:`ORDER`; each is unregistered before it runs."""
    for kind in ORDER:
        while True:
            with _lock:
                if not _closers[kind]:
                    break
                close = _closers[kind].pop()
            try:
                close()
            except Exception as exc:  # the process is ending: say why a row is missing, go on
                log.warning("wattprint: could not write the final records at exit: %s", exc)


@contextmanager
def critical() -> Iterator[None]:
    """Work that holds wattprint's locks: a SIGTERM arriving during it is handled right after."""
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
            _terminate()


def _on_sigterm(signum, frame) -> None:
    global _deferred
    if _busy:
        _deferred = True
        return
    _terminate()


def _terminate() -> None:
    close_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm() -> None:
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
            _sigterm_installed = True
    except (ValueError, OSError, AttributeError):  # no signals here (some platforms, threads)
        pass


def _restore_sigterm() -> None:
    global _sigterm_installed
    if not _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):
        pass
    _sigterm_installed = False
