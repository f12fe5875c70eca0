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
    ``"low-coverage"``: top log-probabilities where the labels get 5% of the mass.

Provider profiles (``profile=``) reproduce a provider's documented limits and error payloads,
and answer any of the experts' prompts from the options the prompt lists (first listed 0.5,
second 0.3: a position bias that counterbalancing must cancel):

* ``"openai-chat"``: a current OpenAI chat model. ``/v1/completions`` is a 404 ("This is a
  chat model and not supported in the v1/completions endpoint"); ``top_logprobs`` above 20 and
  unknown fields (``grammar``, ``guided_choice``, ``cache_prompt``) are 400s in OpenAI's
  ``{"error": {...}}`` shape; ``response_format`` JSON schemas are honoured.
* ``"openai-completions"``: a legacy completions model: ``logprobs`` above 5 is a 400, the
  log-probabilities come in the legacy ``top_logprobs: [{token: logprob}]`` format, and chat
  is a 404 ("This is not a chat model").
* ``"vllm"``: more than 20 alternatives is vLLM's 400 ("Requested sample logprobs of N, which
  is greater than max allowed: 20", top-level ``{"object": "error", ...}``); lists of prompts
  and ``guided_choice`` work.
* ``"ollama"``: ``top_logprobs`` above 20 is a 400 ("top_logprobs must be between 0 and 20");
  a list of prompts is a 400 ("prompt currently only accepts a string").
* ``"llamacpp"``: any number of alternatives, GBNF ``grammar`` (a choice of quoted
  strings), lists of prompts, ``n`` up to 4 slots.
* ``"no-logprobs"``: a gateway that serves text only: any request for log-probabilities is
  a 400 ("logprobs is not supported with this model"), so score mode is impossible.

Example:
    >>> with FakeLLMServer(token_probs={"accept": 0.6, "reject": 0.3}) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAKE_API_KEY", "FAULTS", "PROFILES", "FakeLLMServer"]

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
        "low-coverage",
    }
)

PROFILES = ("openai-chat", "openai-completions", "vllm", "ollama", "llamacpp", "no-logprobs")
"""Provider profiles the server can reproduce."""

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
        profile: One of :data:`PROFILES` (None: a lenient llama.cpp-like server answering
            ``token_probs``).
        model_id: The model it lists at ``/v1/models``.
        strict_model: Answer a request for any other model with vLLM's 404 ("The model `x`
            does not exist."); by default any model name is served, as llama.cpp does.
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
        profile: str | None = None,
        model_id: str = "fake",
        strict_model: bool = False,
    ) -> None:
        if profile is not None and profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected None or one of {PROFILES}")
        self.profile = profile
        self.model_id = model_id
        self.strict_model = strict_model
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
        # poll_interval: shutdown() waits for the loop's next poll; 0.5 s (the default) per
        # server adds up over a test suite that starts dozens.
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
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

    def _listed_options(self, prompt: str) -> list[str]:
        """The answer options the experts' prompts list, in listed order."""
        letters = re.findall(r"^([A-H])\) ", prompt, flags=re.M)
        if letters:
            return letters
        line = next((ln for ln in reversed(prompt.splitlines())
                     if "can either" in ln or "What do you do:" in ln
                     or "one of" in ln), "")
        return re.findall(r'"([^"]+)"', line)

    def _probs_for(self, prompt: str) -> dict[str, float]:
        if self.profile is not None:
            options = self._listed_options(prompt)
            if options:
                return dict(zip(options, (0.5, 0.3, 0.1, 0.05), strict=False))
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
        if fault == "low-coverage":
            probs = {tok: 0.05 * p / sum(probs.values()) for tok, p in probs.items()}
            probs["hmm"] = 0.9
        merged = {**_FILLER, **probs}
        top = sorted(merged.items(), key=lambda kv: -kv[1])[: max(k, 1)]
        if self.profile == "openai-completions":  # the legacy format
            return {"tokens": [top[0][0]], "token_logprobs": [math.log(top[0][1])],
                    "top_logprobs": [{tok: math.log(p) for tok, p in top}],
                    "text_offset": [len(prompt)]}
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

    def _sampled_text(self, prompt: str, body: dict[str, Any], chat: bool, index: int,
                      fault: str | None) -> str:
        if self.profile is None or fault is not None:
            return self._text(fault)
        options = self._listed_options(prompt)
        if not options:
            return self._text(fault)
        rng = random.Random(f"{body.get('seed')}-{index}-{prompt}")
        choice = options[0] if rng.random() < 0.6 else options[min(1, len(options) - 1)]
        if isinstance(body.get("response_format"), dict):
            return json.dumps({"decision": choice})
        if chat or body.get("grammar") or body.get("guided_choice"):
            return choice
        return f'{choice}" because it feels right.'

    def _answer(self, path: str, body: dict[str, Any], fault: str | None) -> dict[str, Any]:
        n = int(body.get("n") or 1)
        chat = path.endswith("/chat/completions")
        if chat:
            messages = body.get("messages") or []
            prompts = ["\n".join(str(m.get("content", "")) for m in messages)]
            want = bool(body.get("logprobs"))
            k = int(body.get("top_logprobs") or 1)
        else:
            raw = body.get("prompt", "")
            prompts = [str(p) for p in raw] if isinstance(raw, list) else [str(raw)]
            want = body.get("logprobs") is not None
            k = int(body.get("logprobs") or 1)
        choices = []
        for j, prompt in enumerate(prompts):
            for index in range(n):
                if want and int(body.get("max_tokens") or 16) == 1:
                    logprobs = self._logprobs(prompt, fault, k)
                    text = (logprobs["tokens"][0] if "tokens" in logprobs
                            else logprobs["content"][0]["token"])
                else:
                    logprobs = None
                    text = self._sampled_text(prompt, body, chat, index, fault)
                choice: dict[str, Any] = {"index": j * n + index, "finish_reason": "stop",
                                          "logprobs": logprobs}
                if chat:
                    choice["message"] = {"role": "assistant", "content": text}
                else:
                    choice["text"] = text
                choices.append(choice)
        words = sum(len(p.split()) for p in prompts)
        return {
            # The id names the prompt, so tests can tell which answers a cache holds.
            "id": "fake-" + hashlib.sha256(prompts[0].encode()).hexdigest()[:16],
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": str(body.get("model", "fake")),
            "choices": choices,
            "usage": {
                "prompt_tokens": words,
                "completion_tokens": n * len(prompts),
                "total_tokens": words + n * len(prompts),
            },
        }

    def _refusal(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The error a real provider answers to this request, per its profile, else None."""
        profile = self.profile
        if profile is None:
            return None
        chat = path.endswith("/chat/completions")
        k = int((body.get("top_logprobs") if chat else body.get("logprobs")) or 0)

        def openai_error(status: int, message: str, param: str | None = None,
                         code: str | None = None) -> tuple[int, dict[str, Any]]:
            return status, {"error": {"message": message, "type": "invalid_request_error",
                                      "param": param, "code": code}}

        if profile.startswith("openai"):
            if profile == "openai-chat" and not chat:
                return openai_error(404, "This is a chat model and not supported in the "
                                    "v1/completions endpoint. Did you mean to use "
                                    "v1/chat/completions?", "model")
            if profile == "openai-completions" and chat:
                return openai_error(404, "This is not a chat model and thus not supported "
                                    "in the v1/chat/completions endpoint. Did you mean to use "
                                    "v1/completions?", "model")
            for name in ("grammar", "guided_choice", "cache_prompt", "n_probs"):
                if name in body:
                    return openai_error(400, f"Unrecognized request argument supplied: {name}")
            cap = 20 if chat else 5
            if k > cap:
                name = "top_logprobs" if chat else "logprobs"
                return openai_error(400, f"Invalid '{name}': integer above maximum value. "
                                    f"Expected a value <= {cap}, but got {k} instead.", name,
                                    "integer_above_max_value")
            if isinstance(body.get("prompt"), list) and len(body["prompt"]) > 1 and chat:
                return openai_error(400, "prompt must be a string")
        elif profile == "vllm":
            if k > 20:
                return 400, {"object": "error", "message": f"Requested sample logprobs of "
                             f"{k}, which is greater than max allowed: 20",
                             "type": "BadRequestError", "param": None, "code": 400}
        elif profile == "ollama":
            if k > 20:
                return openai_error(400, "top_logprobs must be between 0 and 20")
            if isinstance(body.get("prompt"), list):
                return openai_error(400, "prompt currently only accepts a string")
        elif profile == "no-logprobs":
            if k or body.get("logprobs"):
                return openai_error(400, "logprobs is not supported with this model",
                                    "logprobs")
        elif profile == "llamacpp":
            n = int(body.get("n") or 1)
            if n > 4:
                return 400, {"error": {"code": 400, "message": "Field 'n': Value must be "
                                       f"between 1 <= value <= 4, but got {n}",
                                       "type": "invalid_request_error"}}
        return None

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
                    owner = {"vllm": "vllm", "llamacpp": "llamacpp", "ollama": "library",
                             "openai-chat": "system", "openai-completions": "system"}
                    model: dict[str, Any] = {"id": server.model_id, "object": "model"}
                    if server.profile in owner:
                        model["owned_by"] = owner[server.profile]
                    self._json(200, {"object": "list", "data": [model]})
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
                if server.strict_model and body.get("model") != server.model_id:
                    # vLLM's answer to a model it does not serve.
                    self._json(404, {"object": "error", "type": "NotFoundError", "code": 404,
                                     "message": f"The model `{body.get('model')}` does not "
                                                "exist."})
                    return
                refused = server._refusal(path, body)
                if refused is not None:
                    self._json(*refused)
                    return
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
