"""``wattprint monitor``: measure this machine until stopped, exporting live; a row at the end.

For a machine shared by many jobs, or jobs that cannot be wrapped in ``wattprint run``: it
measures the whole machine (CPU, RAM and every GPU), exports the figures while it runs
(``--prometheus-port``, ``--pushgateway-url``, ``--otel``), and when SIGTERM or SIGINT
(Ctrl-C) arrives, or after ``--duration`` seconds, it pushes the final figures, appends one
row to the CSV, prints a summary on stderr and exits with status 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

_PROG = "wattprint monitor"
#: The Tracker's options this command takes as they are (its arguments have the options' names).
_OPTIONS = ("project_name", "experiment_description")
_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def add_parser(sub) -> None:
    from wattprint.commands import _exports, _measure_options

    p = sub.add_parser(
        "monitor",
        help="measure this machine until stopped, exporting to Prometheus or OpenTelemetry while it runs",
        description=(
            "Measure the energy (kWh) and CO2e (kg) of this whole machine until SIGTERM or SIGINT (Ctrl-C), "
            "exporting live figures; then append one row to the CSV and print a summary on stderr."
        ),
    )
    p.add_argument("--project-name", default="wattprint", metavar="NAME", help="label of the series and the row")
    p.add_argument("--experiment-description", default="monitor", metavar="TEXT", help="label (default: monitor)")
    _measure_options.add_arguments(p, output_help="CSV to append the row to")
    p.add_argument("--duration", type=float, metavar="S", help="stop by itself after S seconds")
    _exports.add_arguments(p)
    p.set_defaults(func=monitor, _parser=p)


def monitor(args: argparse.Namespace) -> int:
    from wattprint.commands import _exports, _measure_options
    from wattprint.commands.run import _plain_warnings, written_csv
    from wattprint.core.errors import WattprintError
    from wattprint.core.naming import CLI
    from wattprint.core.settings import Settings
    from wattprint.core.tracker import Tracker
    from wattprint.core.units import G_PER_KG

    err = sys.stderr
    if args.duration is not None and not args.duration > 0:
        args._parser.error(f"--duration must be a number of seconds > 0, got {args.duration:g}")
    stop = threading.Event()
    received: list[int] = []

    def handle(signum, frame) -> None:
        received.append(signum)
        stop.set()

    # Installed first: the Tracker then leaves SIGTERM to us, and stopping is always clean.
    previous = {sig: signal.signal(sig, handle) for sig in _STOPPING}
    try:
        with _plain_warnings(err):
            options = {name: getattr(args, name) for name in _OPTIONS}
            options.update(_measure_options.options(args))
            options.update(measure_host=True, **_exports.options(args))
            try:
                tracker = Tracker(settings=Settings.build(options, naming=CLI))
                tracker.start()
            except WattprintError as exc:
                print(f"{_PROG}: error: {exc}", file=err)
                return 2
            targets = ", ".join(o.name for o in tracker.outputs) or "nothing"
            print(f"{_PROG}: measuring this machine (run {tracker.run_id[:8]}) to {targets}; "
                  "stop with Ctrl-C or SIGTERM", file=err, flush=True)
            stop.wait(args.duration)
            record = tracker.stop(interrupted=False)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    how = f"stopped by {signal.Signals(received[0]).name}" if received else "done"
    written = written_csv(tracker)
    print(f"{_PROG}: {how} after {record.duration_s:.1f} s: {record.energy_kwh:.6g} kWh, {record.co2_kg * G_PER_KG:.6g} g CO2e"
          + (f"; row appended to {written}" if written else "; no row was written"), file=err)
    return 0
