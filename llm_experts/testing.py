"""A scriptable, misbehaving OpenAI-compatible HTTP server for tests.

:class:`FakeLLMServer` is a real ``ThreadingHTTPServer`` on 127.0.0.1 (free port). In healthy
mode it answers ``/v1/completions`` and ``/v1/chat/completions`` in llama.cpp's format, with
top log-probabilities you control. Faults queued with :meth:`FakeLLMServer.script` apply to the
next requests, one fault per request; it counts every request it receives.

Faults:
    ``"delay"``: sleep ``delay`` seconds (past the client's timeout), then answer.
    ``"429"``: rate limited with ``Retry-After: retry_after``; ``"429-no-retry-after"``
    without the header.
    ``"500"``, ``"502"``, ``"503"``, ``"504"``: server errors.
    ``"401-echo-key"``: rejects the key and echoes the ``Authorization`` header in the body
    (checks that clients redact it).
    ``"drop"``: closes the connection without an answer.
    ``"malformed"``: HTTP 200 with a body that is not JSON.
    ``"refusal"``, ``"no-label"``, ``"several-labels"``: sampled text that refuses, names
    no action or names several.
    ``"missing-label"``: top log-probabilities that omit every token but the first label's.

Example:
    >>> with FakeLLMServer(token_probs={"accept": 0.6, "reject": 0.3}) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAKE_API_KEY", "FAULTS", "FakeLLMServer"]

FAULTS = frozenset(
    {
        "delay",
        "429",
        "429-no-retry-after",
        "500",
        "502",
        "503",
        "504",
        "401-echo-key",
        "drop",
        "malformed",
        "refusal",
        "no-label",
        "several-labels",
        "missing-label",
    }
)

_FILLER = {"the": 0.02, "to": 0.01, "it": 0.005}


#: A unique fake API key for tests that check the key never leaks.
FAKE_API_KEY = "sk-test-UNIQUE-8f3b1c2d9e7a"


class FakeLLMServer:
    """OpenAI-compatible test server with scriptable faults.

    Args:
        token_probs: First-token probabilities of the healthy answer to any prompt.
        continuations: Probabilities of the next token for prompts ending with a given suffix
            (the longest matching suffix wins); lets tests exercise multi-token labels.
        text: Healthy sampled text (for ``n`` choices, the same text each time) unless
            ``texts`` is given.
        texts: Healthy sampled texts, used round-robin over all choices served.
        delay: Seconds the ``"delay"`` fault sleeps.
        retry_after: ``Retry-After`` value sent with the ``"429"`` fault.
        default_fault: Fault applied once the script is exhausted (None: healthy).
        port: Port on 127.0.0.1 (0: a free one).
    """

    def __init__(
        self,
        *,
        token_probs: Mapping[str, float] | None = None,
        continuations: Mapping[str, Mapping[str, float]] | None = None,
        text: str = 'accept" because it is fair.',
        texts: Iterable[str] | None = None,
        delay: float = 2.0,
        retry_after: str = "0.2",
        default_fault: str | None = None,
        port: int = 0,
    ) -> None:
        self.token_probs = dict(token_probs or {"accept": 0.6, "reject": 0.3})
        self.continuations = {k: dict(v) for k, v in (continuations or {}).items()}
        self.text = text
        self.texts = list(texts) if texts is not None else None
        self.delay = delay
        self.retry_after = retry_after
        self._check_fault(default_fault)
        self.default_fault = default_fault
        self._script: deque[str | None] = deque()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._text_index = 0
        self.bodies: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root_url + "/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @staticmethod
    def _check_fault(fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected None or one of {sorted(FAULTS)}")

    def script(self, faults: Iterable[str | None]) -> None:
        """Queue faults for the next requests, one per request (None means a healthy answer)."""
        faults = list(faults)
        for fault in faults:
            self._check_fault(fault)
        with self._lock:
            self._script.extend(faults)

    @property
    def request_count(self) -> int:
        """Model requests received (completions and chat completions, faults included)."""
        with self._lock:
            return self._counts["/v1/completions"] + self._counts["/v1/chat/completions"]

    @property
    def answered(self) -> int:
        """Healthy answers fully sent."""
        with self._lock:
            return self._counts["answered"]

    def count(self, path: str) -> int:
        """Requests received on ``path``."""
        with self._lock:
            return self._counts[path]

    def reset_counts(self) -> None:
        """Zero the request counters and forget the recorded bodies."""
        with self._lock:
            self._counts.clear()
            self.bodies.clear()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- answers -------------------------------------------------------------------------

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._script.popleft() if self._script else self.default_fault

    def _next_text(self) -> str:
        with self._lock:
            if not self.texts:
                return self.text
            text = self.texts[self._text_index % len(self.texts)]
            self._text_index += 1
            return text

    def _probs_for(self, prompt: str) -> dict[str, float]:
        best = ""
        for suffix in self.continuations:
            if prompt.endswith(suffix) and len(suffix) > len(best):
                best = suffix
        return dict(self.continuations[best]) if best else dict(self.token_probs)

    def _logprobs(self, prompt: str, fault: str | None, k: int) -> dict[str, Any]:
        probs = self._probs_for(prompt)
        if fault == "missing-label":
            first = next(iter(probs))
            probs = {first: probs[first]}
        merged = {**_FILLER, **probs}
        top = sorted(merged.items(), key=lambda kv: -kv[1])[: max(k, 1)]
        entries = [
            {"id": i, "token": tok, "bytes": list(tok.encode()), "logprob": math.log(p)}
            for i, (tok, p) in enumerate(top)
        ]
        return {"content": [{**entries[0], "top_logprobs": entries}]}

    def _text(self, fault: str | None) -> str:
        if fault == "refusal":
            return "I'm sorry, but I can't help with that request."
        if fault == "no-label":
            return "think about it for a while."
        if fault == "several-labels":
            return "accept or reject, hard to say."
        return self._next_text()

    def _answer(self, path: str, body: dict[str, Any], fault: str | None) -> dict[str, Any]:
        n = int(body.get("n") or 1)
        chat = path.endswith("/chat/completions")
        if chat:
            messages = body.get("messages") or []
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            want = bool(body.get("logprobs"))
            k = int(body.get("top_logprobs") or 1)
        else:
            prompt = str(body.get("prompt", ""))
            want = body.get("logprobs") is not None
            k = int(body.get("logprobs") or 1)
        choices = []
        for index in range(n):
            if want and int(body.get("max_tokens") or 16) == 1:
                logprobs = self._logprobs(prompt, fault, k)
                text = logprobs["content"][0]["token"]
            else:
                logprobs = None
                text = self._text(fault)
            choice: dict[str, Any] = {"index": index, "finish_reason": "stop", "logprobs": logprobs}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            choices.append(choice)
        return {
            # The id names the prompt, so tests can tell which answers a cache holds.
            "id": "fake-" + hashlib.sha256(prompt.encode()).hexdigest()[:16],
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": str(body.get("model", "fake")),
            "choices": choices,
            "usage": {
                "prompt_tokens": len(prompt.split()),
                "completion_tokens": n,
                "total_tokens": len(prompt.split()) + n,
            },
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output (and any Authorization header) out of stderr

            def _send(self, status: int, payload: bytes, headers: Mapping[str, str] = {}) -> None:  # noqa: B006
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _json(self, status: int, obj: Any, headers: Mapping[str, str] = {}) -> None:  # noqa: B006
                self._send(status, json.dumps(obj).encode(), headers)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") in ("/health", "/v1/health"):
                    self._json(200, {"status": "ok"})
                elif self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = self.path.rstrip("/")
                with server._lock:
                    server._counts[path] += 1
                if path not in ("/v1/completions", "/v1/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "request body is not JSON"}})
                    return
                with server._lock:
                    server.bodies.append(body)
                fault = server._next_fault()
                if fault == "delay":
                    time.sleep(server.delay)
                elif fault in ("429", "429-no-retry-after"):
                    headers = {"Retry-After": server.retry_after} if fault == "429" else {}
                    self._json(429, {"error": {"message": "rate limited"}}, headers)
                    return
                elif fault in ("500", "502", "503", "504"):
                    self._json(int(fault), {"error": {"message": f"server error {fault}"}})
                    return
                elif fault == "401-echo-key":
                    auth = self.headers.get("Authorization", "")
                    self._json(401, {"error": {"message": f"invalid key in header {auth!r}"}})
                    return
                elif fault == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                elif fault == "malformed":
                    self._send(200, b'{"choices": [ {"text": "acc')
                    return
                self._json(200, server._answer(path, body, fault))
                with server._lock:
                    server._counts["answered"] += 1

        return Handler
