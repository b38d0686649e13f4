"""``EmissionsCallback`` for the ``pytorch_lightning`` package (``import pytorch_lightning as pl``).

The same callback as :mod:`wattprint.integrations.lightning`, subclassing
``pytorch_lightning.Callback``; see :class:`~wattprint.integrations.lightning.LightningEmissionsMixin`
for what it logs. Use it when your code imports ``pytorch_lightning``: Lightning releases before
2.6 reject callbacks of the other namespace.
"""

from __future__ import annotations

from wattprint.integrations._imports import missing, optional
from wattprint.integrations.lightning import LightningEmissionsMixin

_pl = optional("pytorch_lightning")


class EmissionsCallback(LightningEmissionsMixin, _pl.Callback if _pl else missing("pytorch_lightning", "lightning")):  # type: ignore[misc]
    __doc__ = LightningEmissionsMixin.__doc__


__all__ = ["EmissionsCallback", "LightningEmissionsMixin"]
