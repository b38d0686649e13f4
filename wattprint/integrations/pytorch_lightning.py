"""``EmissionsCallback`` for the ``pytorch_lightning`` package (``import pytorch_lightning as pl``).

The same callback as :mod:`wattprint.integrations.lightning`, subclassing
``pytorch_lightning.Callback``; see :class:`~wattprint.integrations.lightning.LightningEmissionsMixin`
for what it logs. Use it when your code imports ``pytorch_lightning``: Lightning releases before
2.6 reject callbacks of the other namespace.
"""

from __future__ import annotations

from wattprint.core.errors import MissingExtraError
from wattprint.integrations._imports import require
from wattprint.integrations.lightning import LightningEmissionsMixin, _build

try:
    require("pytorch_lightning", "lightning")
except MissingExtraError as exc:
    raise MissingExtraError("lightning", "lightning") from exc

EmissionsCallback = _build("pytorch_lightning")

__all__ = ["EmissionsCallback", "LightningEmissionsMixin"]
