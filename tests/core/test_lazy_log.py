"""wattprint's loggers are made on first use, and log exactly as standard loggers of the same names."""

from __future__ import annotations

import copy
import logging
import pickle
import subprocess
import sys
import textwrap

from wattprint._log import getLogger
from wattprint.core import sampler


def _emit_here(log):
    log.warning("wattprint: a %s", "warning")


def test_records_carry_the_module_name_and_the_callers_line(caplog):
    log = getLogger("wattprint.core.tests_lazy")
    with caplog.at_level(logging.DEBUG, logger="wattprint"):
        _emit_here(log)
        log.debug("quiet %d", 1)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    warning, debug, failed = caplog.records
    assert (warning.name, warning.levelno, warning.getMessage()) == (
        "wattprint.core.tests_lazy", logging.WARNING, "wattprint: a warning")
    # The caller, not the lazy logger's own method, is what the record names.
    assert warning.funcName == "_emit_here" and warning.pathname == __file__
    assert debug.getMessage() == "quiet 1" and debug.funcName == "test_records_carry_the_module_name_and_the_callers_line"
    assert failed.exc_info[0] is ValueError
    assert log.logger is logging.getLogger("wattprint.core.tests_lazy")
    # Anything else is the standard logger's.
    assert log.getEffectiveLevel() == logging.getLogger("wattprint.core.tests_lazy").getEffectiveLevel()


def test_module_loggers_are_configured_through_the_standard_names(caplog):
    assert sampler.log.name == "wattprint.core.sampler"
    logging.getLogger("wattprint.core.sampler").setLevel(logging.ERROR)
    try:
        with caplog.at_level(logging.DEBUG, logger="wattprint"):
            sampler.log.warning("below the level set by name")
            sampler.log.error("at the level set by name")
    finally:
        logging.getLogger("wattprint.core.sampler").setLevel(logging.NOTSET)
    assert [r.getMessage() for r in caplog.records] == ["at the level set by name"]


def test_a_lazy_logger_copies_and_pickles_by_name():
    log = getLogger("wattprint.core.tests_lazy")
    for other in (copy.copy(log), copy.deepcopy(log), pickle.loads(pickle.dumps(log))):
        assert other.name == log.name and other.logger is log.logger


def test_the_package_logger_ends_at_a_null_handler(tmp_path):
    code = textwrap.dedent(
        """
        from wattprint.core import sampler
        sampler.log.warning("not shown: the package logger ends at a NullHandler")
        import logging
        assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("wattprint").handlers)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "not shown" not in proc.stderr


def test_where_logging_is_loaded_already_the_package_logger_has_its_null_handler_at_import(tmp_path):
    code = textwrap.dedent(
        """
        import logging
        import wattprint
        assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("wattprint").handlers)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
