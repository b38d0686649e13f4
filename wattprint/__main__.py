"""``python -m wattprint`` is the ``wattprint`` command."""

from wattprint.cli import main

raise SystemExit(main())
