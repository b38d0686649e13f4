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
still exits as the signal asks (status 128+15 to a shell). SIGINT becomes ``KeyboardInterrupt``
as usual, which the context managers and callbacks handle.

Python runs a signal handler on the main thread, between two bytecodes of whatever it was
doing. If that was wattprint's own work (a sensor read under the meter's lock, a CSV append
under the file's lock, a record on its way to several outputs), closing there would wait
forever for a lock the interrupted code holds, and a ``KeyboardInterrupt`` raised between two
outputs would leave a record in one file and not the other. Such work is marked with
:func:`critical`: a SIGTERM arriving inside it is handled as soon as the work is done, and so
is a SIGINT (while its handler is Python's own, which is replaced for as long as anything is
registered). Work that waits (a file lock held by another process) asks :func:`stopping` and
gives up early, so a signal is never held up for long.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from wattprint._log import getLogger

log = getLogger(__name__)

TRAINING = "training"
TRACKER = "tracker"
#: Closers run in this order.
ORDER = (TRAINING, TRACKER)

Closer = Callable[[], object]

_lock = threading.RLock()
_closers: dict[str, list[Closer]] = {kind: [] for kind in ORDER}
_at_end: list[Closer] = []
_atexit_installed = False
_sigterm_installed = False
_busy = 0  # depth of critical work in progress on the main thread
_deferred = False  # a SIGTERM arrived during that work
_deferred_int = False  # a SIGINT arrived during that work
_sigint_installed = False
_ending = False  # the closers are running because of a signal


def register(close: Closer, kind: str) -> None:
    """Run ``close()`` if the process ends while it is registered (``kind``: one of :data:`ORDER`)."""
    with _lock:
        _closers[kind].append(close)
        _install_atexit()
        _install_handlers()


def at_end(wait: Closer) -> None:
    """Run ``wait()`` whenever the process ends, after the closers (at exit, and on SIGTERM while
    anything is registered); for work the closers leave pending, such as a file's ``fsync``."""
    with _lock:
        if wait not in _at_end:
            _at_end.append(wait)
        _install_atexit()


def _install_atexit() -> None:
    global _atexit_installed
    if not _atexit_installed:
        atexit.register(close_all)
        _atexit_installed = True


def unregister(close: Closer) -> None:
    """Forget ``close`` (its owner ended normally); restore SIGTERM's default when nothing is left."""
    with _lock:
        for closers in _closers.values():
            if close in closers:
                closers.remove(close)
        if not any(_closers.values()):
            _restore_handlers()


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
    for wait in _at_end:
        try:
            wait()
        except Exception as exc:  # noqa: BLE001 - the process is ending: say so, go on
            log.warning("wattprint: could not finish writing the files at exit: %s", exc)


@contextmanager
def critical() -> Iterator[None]:
    """Work that holds wattprint's locks or feeds several outputs: a SIGTERM or SIGINT arriving
    during it is handled right after."""
    global _busy, _deferred, _deferred_int
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
        if _busy == 0 and _deferred_int:
            _deferred_int = False
            raise KeyboardInterrupt


def stopping() -> bool:
    """True while a signal waits for critical work to finish, or the closers run because of one."""
    return _deferred or _deferred_int or _ending


def _on_sigterm(signum, frame) -> None:
    global _deferred
    if _busy:
        _deferred = True
        return
    _terminate()


def _on_sigint(signum, frame) -> None:
    global _deferred_int
    if _busy:
        _deferred_int = True
        return
    raise KeyboardInterrupt  # what Python's own handler does


def _terminate() -> None:
    global _ending
    _ending = True
    try:
        close_all()
    finally:
        _ending = False
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_handlers() -> None:
    """Ours for SIGTERM (if it has its default action) and SIGINT (if it has Python's handler)."""
    global _sigterm_installed, _sigint_installed
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if not _sigterm_installed and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
            _sigterm_installed = True
        if not _sigint_installed and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_sigint)
            _sigint_installed = True
    except (ValueError, OSError, AttributeError):  # no signals here (some platforms, threads)
        pass


def _restore_handlers() -> None:
    global _sigterm_installed, _sigint_installed
    if threading.current_thread() is not threading.main_thread():
        return
    for installed, sig, ours, default in ((_sigterm_installed, "SIGTERM", _on_sigterm, signal.SIG_DFL),
                                          (_sigint_installed, "SIGINT", _on_sigint, signal.default_int_handler)):
        try:
            if installed and signal.getsignal(getattr(signal, sig)) is ours:
                signal.signal(getattr(signal, sig), default)
        except (ValueError, OSError, AttributeError):
            pass
    _sigterm_installed = _sigint_installed = False
