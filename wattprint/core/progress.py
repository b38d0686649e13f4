"""Running totals of a training (summed over ranks), the prediction for the planned end, checkpoint state."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import ConfigError

STATE_VERSION = 1


@dataclass
class RunningTotals:
    """Energy (kWh) and CO2e (kg) since training (or a resumed run) began, and the epochs they cover.

    ``origin`` is the fraction of the planned training already done when these totals began
    (0 for a run measured from its start), so a prediction only extrapolates what was measured.
    """

    energy_kwh: float = 0.0
    co2_kg: float = 0.0
    epochs: int = 0
    last_epoch: int | None = None
    origin: float = 0.0

    @classmethod
    def starting_at(cls, origin: float | None) -> RunningTotals:
        """New totals for a training ``origin`` of whose plan (0..1) is already done; None = 0."""
        return cls(origin=float(origin) if origin is not None and math.isfinite(origin) else 0.0)

    def add(self, energy_kwh: float, co2_kg: float, epoch: int | None) -> None:
        """Count one more epoch of ``energy_kwh`` and ``co2_kg``."""
        self.energy_kwh += energy_kwh
        self.co2_kg += co2_kg
        self.epochs += 1
        self.last_epoch = epoch

    def predicted_co2_kg(self, progress: float | None) -> float | None:
        """CO2e (kg) of the whole planned training: totals / fraction measured x fraction planned.

        ``progress`` is the fraction of the planned training done now (1.0 = all planned
        epochs or steps). None when the plan is unknown or nothing was measured yet.
        """
        if progress is None or self.epochs == 0 or not math.isfinite(progress):
            return None
        measured = progress - self.origin
        if measured <= 0:
            return None
        return self.co2_kg * (1.0 - self.origin) / measured

    def as_state(self, *, open_energy_kwh: float = 0.0, open_co2_kg: float = 0.0) -> dict[str, Any]:
        """What a checkpoint keeps (JSON-ready), with an epoch still open counted so far."""
        return {
            "version": STATE_VERSION,
            "energy_kwh_total": self.energy_kwh + open_energy_kwh,
            "co2_kg_total": self.co2_kg + open_co2_kg,
            "epochs": self.epochs,
            "last_epoch": self.last_epoch,
            "origin": self.origin,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RunningTotals:
        """Totals saved by :meth:`as_state`; ConfigError for a state this version cannot read."""
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            raise ConfigError(
                f"unknown emissions callback state {state!r}: written by another wattprint version; "
                "the totals start again from this run."
            )
        last = state.get("last_epoch")
        return cls(
            energy_kwh=float(state["energy_kwh_total"]),
            co2_kg=float(state["co2_kg_total"]),
            epochs=int(state["epochs"]),
            last_epoch=None if last is None else int(last),
            origin=float(state.get("origin", 0.0)),
        )
