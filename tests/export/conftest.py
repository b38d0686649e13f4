"""Fixtures starting the real Prometheus and Pushgateway (skipped, with the reason, without them)."""

from __future__ import annotations

import os

# As in tests/integrations: read when the frameworks are first imported, which may be here.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from tests.export import engines


def _need(name: str) -> None:
    if engines.binary(name) is None:
        pytest.skip(f"{name} is not installed (Debian package {name}; .ci/run installs it when run as root)")


@pytest.fixture
def pushgateway(tmp_path, request):
    _need(engines.PUSHGATEWAY)
    engine = engines.pushgateway(tmp_path)
    request.addfinalizer(engine.stop)
    return engine


@pytest.fixture
def start_prometheus(tmp_path, request):
    """``start_prometheus(scrape=[...], pushgateway=...)`` -> a running Prometheus, killed after the test."""
    _need(engines.PROMETHEUS)

    def start(**kwargs):
        directory = tmp_path / f"prometheus{len(started)}"
        directory.mkdir()
        engine = engines.prometheus(directory, **kwargs)
        started.append(engine)
        request.addfinalizer(engine.stop)
        return engine

    started: list = []
    return start


@pytest.fixture
def otlp_receiver(request):
    from tests.export.otlp_receiver import OtlpReceiver

    receiver = OtlpReceiver()
    request.addfinalizer(receiver.close)
    return receiver


@pytest.fixture(autouse=True)
def _no_otel_environment(monkeypatch):
    """The machine's own OpenTelemetry variables must not reach these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
