"""Framework callbacks that log per-epoch energy and CO2e into the framework's own loggers.

One class name in every framework, imported from the framework's module (each imports its
framework when imported itself; without the framework it still imports, and creating the
callback raises one short error naming the extra to install)::

    from wattprint.integrations.lightning import EmissionsCallback       # Trainer(callbacks=[...])
    from wattprint.integrations.pytorch_lightning import EmissionsCallback  # the pytorch_lightning package
    from wattprint.integrations.keras import EmissionsCallback           # model.fit(..., callbacks=[...])
    from wattprint.integrations.transformers import EmissionsCallback    # Trainer(..., callbacks=[...])

All take the same arguments: ``project_name``, ``experiment_description``, ``country``,
``region``, ``cloud``, ``pue``, ``output_file`` (CSV, default ``"wattprint.csv"``, ``None`` for
none), ``prefix`` (default ``"emissions/"``), ``on_error`` (``"warn"`` or ``"raise"``), ``scope``,
``tracker`` (a configured :class:`wattprint.Tracker`, instead of the settings above) and
``settings`` (a :class:`wattprint.Settings`); see
:class:`~wattprint.integrations._callback.EmissionsCallbackBase`. The keys they log are listed in
:func:`wattprint.core.metrics.epoch_metrics`.
"""
