"""Framework-agnostic measurement core: sensors, meter, carbon data, records and sinks.

Nothing in this package imports an ML framework, numpy or pandas.
"""
