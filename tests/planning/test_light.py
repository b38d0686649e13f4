"""Planning is stdlib only: planning and its forecasts import no numpy, pandas or framework."""

from __future__ import annotations

import subprocess
import sys
import textwrap

HEAVY = ("numpy", "pandas", "torch", "keras", "transformers", "lightning", "matplotlib", "psutil")


def test_plan_and_forecasts_import_nothing_heavy():
    code = textwrap.dedent(f"""
        import sys
        import wattprint
        assert "wattprint.planner" not in sys.modules  # loaded on first use of wattprint.plan
        wattprint.plan
        import wattprint.core.carbon.forecast.uk, wattprint.core.carbon.forecast.watttime
        import wattprint.core.carbon.forecast.electricitymaps, wattprint.core.carbon.forecast.energidataservice
        import wattprint.commands.greener, wattprint.report.suggest, wattprint.report.modelcard
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        assert not heavy, heavy
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
