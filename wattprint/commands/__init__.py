"""One module per ``wattprint`` subcommand; each has ``add_parser(subparsers)`` and ``run(args) -> int``."""
