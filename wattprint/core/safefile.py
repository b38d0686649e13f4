"""Opening output files without surprises: regular files only, no planted links, bounded reads.

* Only a regular file is an output (or ``os.devnull``, the usual way to say "nowhere"): a
  device such as ``/dev/zero`` would feed endless bytes to the header check, and a FIFO would
  block the open until some reader appears. Files are opened non-blocking and checked with
  ``fstat`` on the open descriptor, so the check and the use are one file.
* A symbolic link in a sticky, world-writable directory (``/tmp``) is followed only if it
  belongs to the user or to the directory's owner -- the rule of Linux's
  ``fs.protected_symlinks``, applied here too because that protection may be switched off.
  Where the last component is not a link, it is opened with ``O_NOFOLLOW``, so a link planted
  between the check and the open is refused rather than followed.
* :func:`write_atomic` writes a whole file through a temporary file in the same directory and
  a rename: readers see the old file or the new one, never half of one, and an existing link
  is replaced by the rename instead of having its target overwritten.
"""

from __future__ import annotations

import os
import stat

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


class UnsafeFileError(OSError):
    """The path is not a regular file, or is a link that must not be followed; the message says why."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def is_devnull(st: os.stat_result) -> bool:
    """True for the null device, whatever path reached it."""
    if not stat.S_ISCHR(st.st_mode):
        return False  # a regular file, every row of every write: no stat of the null device
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return (st.st_rdev, st.st_dev, st.st_ino) == (null.st_rdev, null.st_dev, null.st_ino)


def check_regular(st: os.stat_result, path: str) -> None:
    """Raise :class:`UnsafeFileError` unless ``st`` is a regular file (or the null device)."""
    if not stat.S_ISREG(st.st_mode) and not is_devnull(st):
        raise UnsafeFileError(f"{path} is {_kind(st.st_mode)}; records go to regular files only")


def untrusted_link(path: str) -> str | None:
    """Why following the link at ``path`` would be unsafe, or None (not a link, or a safe one)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISLNK(st.st_mode) or not hasattr(os, "geteuid"):
        return None
    try:
        parent = os.stat(os.path.dirname(path) or ".")
    except OSError:
        return None
    shared = parent.st_mode & stat.S_ISVTX and parent.st_mode & stat.S_IWOTH
    if shared and st.st_uid not in (os.geteuid(), parent.st_uid):
        return (f"{path} is a link owned by another user (uid {st.st_uid}) in a directory anyone "
                "may write to; it is not followed")
    return None


def open_regular(path: str, flags: int, mode: int = 0o666) -> int:
    """``os.open`` for an output: refuses untrusted links, never blocks on a FIFO, and returns
    only descriptors of regular files (or the null device). The caller closes the descriptor."""
    why = untrusted_link(path)
    if why:
        raise UnsafeFileError(why)
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        is_link = False
    # Not a link when checked: O_NOFOLLOW makes one planted since then fail instead of being followed.
    extra = O_NONBLOCK | O_CLOEXEC | O_BINARY | (0 if is_link else O_NOFOLLOW)
    fd = os.open(path, flags | extra, mode)
    try:
        check_regular(os.fstat(fd), path)
        if O_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_head(fd: int, limit: int) -> bytes:
    """At most ``limit`` bytes from the start of an open file (``pread``: the offset is left alone)."""
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = os.pread(fd, limit - got, got) if hasattr(os, "pread") else _read_at(fd, limit - got, got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def last_byte(fd: int) -> bytes:
    """The last byte of an open regular file, or ``b""`` if it is empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return b""
    return os.pread(fd, 1, size - 1) if hasattr(os, "pread") else _read_at(fd, 1, size - 1)


def _read_at(fd: int, n: int, offset: int) -> bytes:  # Windows has no pread
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, n)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write less than asked, e.g. when interrupted)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_atomic(path: str, data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` through a temporary file and a rename.

    A link at ``path`` is followed (its target is replaced) only where it is safe to
    (:func:`untrusted_link`); the target must be a regular file or absent. The new file keeps an
    existing file's permissions, or gets the usual ones (0666 less the umask).
    """
    why = untrusted_link(path)
    if why:
        raise UnsafeFileError(why)
    target = os.path.realpath(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UnsafeFileError(f"{path} is {_kind(st.st_mode)}; give the path of a file to write")
    directory = os.path.dirname(target) or "."
    import tempfile  # deferred: only report files are written this way, never on a tracker's start

    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
            if st is not None:
                mode = stat.S_IMODE(st.st_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp, mode)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
