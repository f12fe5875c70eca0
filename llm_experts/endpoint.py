"""Endpoint resolution: which server answers, under which model name, and is it there.

Configuration, most specific first: the fields of :class:`EndpointConfig`, then
``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``SUBRATIONAL_LLM_MODEL`` and
``SUBRATIONAL_LLM_PROVIDER``; with no base URL at all the process-wide embedded llama.cpp
server (:func:`llm_experts.server.default_server`) is started and answers.

A remote endpoint is checked once before any work (:func:`preflight`): one ``GET /models``
with a short timeout and no retries. What can go wrong is named in one line with its fix:

* nothing listens (connection refused): start the server, or check ``BASE_URL``;
* the host does not resolve (DNS) or does not answer in time: check ``BASE_URL``;
* an HTTP status: 401/403 (check ``OPENAI_API_KEY``), 404 (the base URL usually ends in
  ``/v1``), 5xx (the server is up but failing);
* the model is not among those the endpoint lists: check the model name (llama.cpp serves
  its one model under any name, so there an unlisted name is fine).

``SUBRATIONAL_LLM_PREFLIGHT=0`` (or ``EndpointConfig(preflight=False)``) skips the check, for
gateways that list no models or list them under other names.

Example:
    >>> from llm_experts.testing import FakeLLMServer
    >>> with FakeLLMServer(model_id="m") as server:
    ...     endpoint = resolve_endpoint(EndpointConfig(base_url=server.base_url, model="m"))
    >>> endpoint.model, endpoint.embedded
    ('m', False)
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import openai

from llm_experts.errors import ConfigurationError, EndpointUnreachableError
from llm_experts.providers import ProviderProfile, detect_provider, get_profile, resolve_provider
from llm_experts.server import BUILTIN_MODELS, DEFAULT_MODEL, default_server
from llm_experts.transport import BASE_URL_HINT, RetryPolicy, connection_failure

__all__ = [
    "Endpoint",
    "EndpointConfig",
    "detect_owner",
    "forget_checks",
    "preflight",
    "resolve_endpoint",
]

PREFLIGHT_TIMEOUT = 10.0
"""Seconds the pre-flight ``GET /models`` waits at most."""

# Endpoints already found reachable, with their owned_by: a run builds many clients.
_checked: dict[tuple[str, str], str | None] = {}
_checked_lock = threading.Lock()


@dataclass(frozen=True)
class EndpointConfig:
    """Where the model is served, as the user configures it (unset fields: environment).

    Attributes:
        base_url: Endpoint such as ``http://host:8000/v1``; default ``$OPENAI_BASE_URL``,
            else the embedded server.
        model: Model name; default ``$SUBRATIONAL_LLM_MODEL``, or the built-in
            ``gemma-3-270m`` with the embedded server.
        api_key: Default ``$OPENAI_API_KEY``; never logged, cached or put in an error message.
        provider: ``openai``, ``vllm``, ``ollama``, ``llamacpp`` or ``generic`` (see
            :mod:`llm_experts.providers`); default ``$SUBRATIONAL_LLM_PROVIDER``, else
            ``llamacpp`` for the embedded server and, for a remote endpoint, detected where
            safe (OpenAI's host; ``owned_by`` of ``GET /models`` for vLLM and llama.cpp),
            otherwise ``generic``.
        timeout: Seconds per request; default 60 for a remote endpoint and 600 for the
            embedded server (one slot on a shared CPU: a request may wait its turn).
        retry: Retry policy for transient failures (timeouts, 429, 5xx, dropped connections).
        preflight: Check a remote endpoint before the first request (see the module doc);
            ``$SUBRATIONAL_LLM_PREFLIGHT=0`` turns it off too.
    """

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    provider: str | None = None
    timeout: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    preflight: bool = True

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {self.timeout}")


@dataclass(frozen=True)
class Endpoint:
    """A resolved endpoint: every setting known, the server started or checked.

    Attributes:
        base_url: The URL requests go to.
        model: Model name sent with every request.
        api_key: The key (``"none"`` when there is none); excluded from the repr.
        endpoint_id: Stable identity in cache keys (the embedded server's survives restarts
            on another port).
        embedded: Whether the embedded llama.cpp server answers.
        profile: What the endpoint supports.
        provider_detected: Whether the provider was detected rather than named.
        timeout: Seconds per request.
        retry: Retry policy.
        slots: Requests the embedded server answers at once (None: a remote endpoint).
        chat_model: Whether the built-in model is instruction-tuned (None: remote).
    """

    base_url: str
    model: str
    api_key: str = field(repr=False)
    endpoint_id: str
    embedded: bool
    profile: ProviderProfile
    provider_detected: bool
    timeout: float
    retry: RetryPolicy
    slots: int | None = None
    chat_model: bool | None = None


def resolve_endpoint(config: EndpointConfig | None = None) -> Endpoint:
    """Fill ``config`` from the environment, start the embedded server or check the remote one.

    Raises:
        ConfigurationError: No model name for a remote endpoint, a model that is not built
            in without an endpoint, or an unknown provider.
        EndpointUnreachableError: The pre-flight check of a remote endpoint failed.
        ServerStartError: The embedded server did not start.
    """
    config = config or EndpointConfig()
    base_url = config.base_url or os.environ.get("OPENAI_BASE_URL") or None
    model = config.model or os.environ.get("SUBRATIONAL_LLM_MODEL") or None
    api_key = config.api_key or os.environ.get("OPENAI_API_KEY") or "none"
    embedded = base_url is None
    provider = resolve_provider(config.provider, embedded=embedded)
    timeout = config.timeout if config.timeout is not None else (600.0 if embedded else 60.0)
    if embedded:
        model = model or DEFAULT_MODEL
        if model not in BUILTIN_MODELS:
            raise ConfigurationError(
                f"model {model!r} is not built in and no endpoint is configured; set "
                f"OPENAI_BASE_URL (or base_url=) to serve it, or pick one of "
                f"{sorted(BUILTIN_MODELS)}"
            )
        server = default_server(model)
        return Endpoint(server.base_url, model, api_key, server.endpoint_id, True,
                        get_profile("llamacpp"), False, timeout, config.retry,
                        slots=server.n_parallel, chat_model=BUILTIN_MODELS[model].chat)
    assert base_url is not None
    if not model:
        raise ConfigurationError(
            f"no model name for endpoint {base_url!r}; pass model= (--model) or set "
            "SUBRATIONAL_LLM_MODEL"
        )
    check = config.preflight and os.environ.get("SUBRATIONAL_LLM_PREFLIGHT", "1") not in (
        "0", "off", "false", "no")
    if check:
        owned_by = preflight(base_url, model, api_key, provider=provider,
                             timeout=min(timeout, PREFLIGHT_TIMEOUT))
    else:
        owned_by = detect_owner(base_url, api_key) if provider is None else None
    detected = provider is None
    profile = get_profile(provider or detect_provider(base_url, owned_by))
    return Endpoint(base_url, model, api_key, base_url.rstrip("/"), False, profile, detected,
                    timeout, config.retry)


def preflight(base_url: str, model: str, api_key: str, *, provider: str | None = None,
              timeout: float = PREFLIGHT_TIMEOUT) -> str | None:
    """Check that ``base_url`` answers and serves ``model``: one ``GET /models``, no retry.

    A success is remembered for the process, so many clients of one endpoint ask once.

    Args:
        base_url: The endpoint.
        model: The model name requests will carry.
        api_key: Sent as the bearer token; never part of a message.
        provider: The provider, if named (llama.cpp serves any model name).
        timeout: Seconds to wait.

    Returns:
        ``owned_by`` of the first model listed (for provider detection), or None.

    Raises:
        EndpointUnreachableError: In one line: the URL, what failed and what to do.
    """
    memo = (base_url.rstrip("/"), model)
    with _checked_lock:
        if memo in _checked:
            return _checked[memo]
    url = base_url.rstrip("/") + "/models"
    names, owned_by, failure = _list_models(base_url, api_key, timeout)
    if failure is None and names:
        # llama.cpp answers any model name with the model it has loaded.
        llamacpp = "llamacpp" in (provider, detect_provider(base_url, owned_by))
        if not llamacpp and model not in names and f"{model}:latest" not in names:
            shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
            failure = (f"model {model!r} is not listed (it lists {shown})",
                       "check the model name (--model / SUBRATIONAL_LLM_MODEL)")
    if failure is not None:
        what, advice = failure
        message = f"cannot use {url}: {what}; {advice}"
        if api_key != "none" and len(api_key) >= 4:
            message = message.replace(api_key, "***")
        raise EndpointUnreachableError(message, url=url, what=what, advice=advice)
    with _checked_lock:
        _checked[memo] = owned_by
    return owned_by


def detect_owner(base_url: str, api_key: str, timeout: float = 5.0) -> str | None:
    """``owned_by`` of the first model the endpoint lists; best effort, never raises."""
    return _list_models(base_url, api_key, timeout)[1]


def _list_models(base_url: str, api_key: str, timeout: float
                 ) -> tuple[list[str], str | None, tuple[str, str] | None]:
    """``GET /models``: (names, owned_by of the first, (what failed, advice) or None)."""
    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
    try:
        models = list(client.models.list().data)
    except openai.APIStatusError as exc:
        status = exc.status_code
        if status in (401, 403):
            return [], None, (f"HTTP {status}, the API key was refused", "check OPENAI_API_KEY")
        if status == 404:
            return [], None, ("HTTP 404, no model list there", f"{BASE_URL_HINT}: an "
                              "OpenAI-compatible base URL usually ends in /v1")
        if status >= 500:
            return [], None, (f"HTTP {status}, the server is up but failing",
                              "check its log (is it still loading the model?) and try again")
        return [], None, None  # 429 or an unusual 4xx: it answers; the requests tell the rest
    except openai.APIConnectionError as exc:  # APITimeoutError included
        return [], None, connection_failure(exc, timeout)
    except (ValueError, TypeError, AttributeError):  # a 200 that is not a model list
        return [], None, None
    first = models[0] if models else None
    owned_by = str(first.owned_by) if first is not None and getattr(first, "owned_by", None) \
        else None
    return [str(m.id) for m in models], owned_by, None


def forget_checks() -> None:
    """Forget the endpoints found reachable (tests; a restarted server)."""
    with _checked_lock:
        _checked.clear()

