"""The interface the meter reads intensities through: :class:`IntensitySource`.

Its own module because a runtime-checkable Protocol imports :mod:`typing`, which a tracker's
start does not otherwise need: :mod:`wattprint.core.carbon.intensity` and
:mod:`wattprint.core.carbon` hand it out on first use of the name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from wattprint.core.carbon.intensity import Intensity

__all__ = ["IntensitySource"]


@runtime_checkable
class IntensitySource(Protocol):
    """Anything the meter can ask for the intensity now.

    ``current()`` must never raise: a live provider that cannot reach its service returns the
    bundled figure for the same location. A source may also define ``refresh_s`` (seconds), how
    often the meter should call ``current()`` during a run; ``None`` or absent means static.
    """

    def current(self) -> Intensity: ...
