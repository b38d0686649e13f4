"""One background daemon thread for what cannot wait for a window edge.

It polls power-only and estimate sensors (integration), wrapping counters (wraparound) and a
live carbon-intensity source (refresh), and calls ``on_sample`` (the live exports) one period
after it starts and every ``sample_s`` after. When nothing needs it, no thread is started at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from wattprint._log import getLogger
from wattprint.core.meter import Meter

log = getLogger(__name__)


class Sampler:
    """Calls ``meter.poll()`` every ``period_s``, ``meter.refresh_intensity()`` every ``refresh_s``
    and ``on_sample()`` every ``sample_s`` (rounded to whole periods)."""

    def __init__(self, meter: Meter, period_s: float, refresh_s: float | None = None, *,
                 on_sample: Callable[[], object] | None = None, sample_s: float | None = None) -> None:
        self._meter = meter
        self._period_s = period_s
        self._refresh_s = refresh_s
        self._on_sample = on_sample
        self._sample_s = sample_s if sample_s is not None else period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fetching = False  # a live intensity fetch is in flight (it may wait on the network)

    @property
    def needed(self) -> bool:
        return (self._refresh_s is not None or self._on_sample is not None
                or any(s.needs_polling for s in self._meter.sensors.values()))

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if not self.needed or self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wattprint-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        ticks_per_refresh = None
        if self._refresh_s is not None:
            ticks_per_refresh = max(1, round(self._refresh_s / self._period_s))
        ticks_per_sample = max(1, round(self._sample_s / self._period_s))
        tick = 0
        if ticks_per_refresh is not None:
            self._refresh()  # the first live reading, fetched off the training thread
        while not self._stop.wait(self._period_s):
            tick += 1
            refresh = ticks_per_refresh is not None and tick % ticks_per_refresh == 0
            # The first sample one period in: exporters show the run from its start, once a
            # distributed job's ranks had a moment to agree on its run id. A sample reads every
            # sensor, so on its ticks the poll is not needed as well.
            if (tick == 1 or tick % ticks_per_sample == 0) and self._sample() and not refresh:
                continue
            try:
                if refresh:
                    self._refresh()
                else:
                    self._meter.poll()
            except Exception as exc:  # the thread must survive anything a sensor does
                log.warning("wattprint sampler: %s", exc)

    def _sample(self) -> bool:
        """Hand the run so far to the outputs that take samples; True when the sensors were read for it."""
        if self._on_sample is None:
            return False
        try:
            return bool(self._on_sample())
        except Exception as exc:  # noqa: BLE001 -- outputs report their own failures; anything else must not end the thread
            log.debug("wattprint sampler: a live sample failed: %s", exc)
            return False

    def _refresh(self) -> None:
        self._fetching = True
        try:
            self._meter.refresh_intensity()
        except Exception as exc:  # a live source is documented never to raise; be sure
            log.warning("wattprint sampler: intensity refresh failed: %s", exc)
        finally:
            self._fetching = False

    def stop(self) -> None:
        """Stop the thread; never waits for a network fetch in flight (the daemon thread ends
        after it, and a closed meter ignores what it brings)."""
        self._stop.set()
        if self._thread is not None:
            deadline = time.monotonic() + max(5.0, 2 * self._period_s)
            while self._thread.is_alive() and not self._fetching and time.monotonic() < deadline:
                self._thread.join(timeout=0.05)
            self._thread = None
