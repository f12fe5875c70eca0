from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

@pytest.fixture(scope="session")
def embedded():
    """The process-wide embedded server (started once per test session)."""
    from llm_experts.server import default_server

    return default_server()


@pytest.fixture()
def no_endpoint_env(monkeypatch):
    """Clear endpoint configuration so clients fall back to the embedded server."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SUBRATIONAL_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def fake_server():
    from llm_experts.testing import FakeLLMServer

    with FakeLLMServer() as server:
        yield server
