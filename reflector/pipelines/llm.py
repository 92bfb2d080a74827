"""LLM backends: llama.cpp in-process (the embedded default) and any OpenAI-compatible server.

Both implement `protocols.LLM`. `complete_json` is the one way the pipeline asks for structured
output: schema-constrained, validated with msgspec, retried once with the validation error.
"""

import contextlib
import contextvars
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import structlog

from reflector.pipelines.json_repeats import RepeatWatch
from reflector.pipelines.model_files import resolve_llm_model_path
from reflector.pipelines.protocols import LLM, ChatMessage, ModelUnavailable
from reflector.settings import LLMSettings, usable_cores

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=msgspec.Struct)


# What the current call is for ("topic", "recap", ...): named in the logs of each call, so that a run's
# prompt and generated tokens and seconds can be read per task.
_task: contextvars.ContextVar[str | None] = contextvars.ContextVar("llm_task", default=None)


@contextlib.contextmanager
def llm_task(name: str) -> Iterator[None]:
    token = _task.set(name)
    try:
        yield
    finally:
        _task.reset(token)


def current_task() -> str | None:
    return _task.get()


class LLMError(Exception):
    """The LLM answered, but not with something usable (HTTP error, invalid JSON twice)."""


class EmbeddedLLM:
    """llama.cpp in this process. One call at a time: llama.cpp collapses when calls share 2 cores."""

    def __init__(
        self, model_path: Path, *, context_window: int = 8192, threads: int = 0, lazy_grammar: bool = True
    ) -> None:
        from reflector.pipelines.llm_native import import_llama_cpp, use_lazy_grammar

        # Lazy: a 1 GB model and a native library the web process never needs.
        llama_cpp = import_llama_cpp()
        self._llama_cpp = llama_cpp
        self.context_window = context_window
        self._lock = threading.Lock()
        started = time.monotonic()
        # llama-cpp-python's own default is half the cores; 0 here means all this process may use (a
        # container's CPU limit or `taskset` may allow fewer than the machine has). Reading the prompt and
        # writing the reply both use them all: one call runs at a time.
        self.threads = threads or usable_cores()
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=context_window,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                # Read, not mapped: llama.cpp repacks most weights into a layout of its own for the CPU
                # (0.6 GB for Qwen2.5 1.5B), and a mapped file kept all 1.06 GB of the originals resident
                # beside them. Read, only the weights it does not repack stay: 1.43 GB peak instead of
                # 2.04 GB after loading, in the same load time.
                use_mmap=False,
                verbose=False,
            )
        except ValueError as exc:  # llama_cpp reports an unreadable GGUF as ValueError
            raise ModelUnavailable(f"cannot load LLM_MODEL_PATH={str(model_path)!r}: {exc}") from exc
        if lazy_grammar:
            use_lazy_grammar(self._llama)
        log.info("llm.loaded", backend="embedded", model=str(model_path), threads=self.threads, seconds=_since(started))

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict | None = None,
        max_tokens: int = 512,
        temperature: float = 0.3,
    ) -> str:
        kwargs: dict[str, Any] = {}
        if json_schema is not None:
            # llama-cpp-python turns the schema into a GBNF grammar: the output cannot be invalid JSON.
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        with self._lock:
            started = time.monotonic()
            # llama.cpp's counters tell the prompt tokens it read from those its KV cache still held.
            self._llama_cpp.llama_perf_context_reset(self._llama.ctx)
            # Streamed, so that a structured reply that starts repeating itself stops being written there.
            chunks = self._llama.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                **kwargs,
            )
            watch = RepeatWatch() if json_schema is not None else None
            pieces: list[str] = []
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content") or ""
                    if not piece:
                        continue
                    pieces.append(piece)  # one a token, but for characters that take several
                    if watch is not None and watch.feed(piece):
                        break
            finally:
                chunks.close()
            perf = self._llama_cpp.llama_perf_context(self._llama.ctx)
            prompt_tokens = self._llama.n_tokens - len(pieces)
        log.info(
            "llm.completed",
            backend="embedded",
            task=current_task(),
            prompt_tokens=prompt_tokens,
            prompt_tokens_read=perf.n_p_eval,
            completion_tokens=len(pieces),
            read_seconds=round(perf.t_p_eval_ms / 1000, 2),
            seconds=_since(started),
            **_repeat_note(watch),
        )
        return watch.text() if watch is not None else "".join(pieces)

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


class OpenAICompatibleLLM:
    """`/v1/chat/completions` over HTTP: OpenAI, vLLM, Ollama, llama.cpp server."""

    def __init__(
        self,
        url: str,
        *,
        model: str,
        api_key: str | None = None,
        context_window: int = 8192,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = url.rstrip("/")
        self._endpoint = (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"
        self._model = model
        self.context_window = context_window
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        # Not every server knows `json_schema`; after the first refusal use the older form.
        self._schema_format = "json_schema"

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        json_schema: dict | None = None,
        max_tokens: int = 512,
        temperature: float = 0.3,
    ) -> str:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if json_schema is not None:
            body["response_format"] = self._response_format(json_schema)
        started = time.monotonic()
        response = self._post(body)
        # llama.cpp's server answers a refused response_format with 500, others with 400 or 422.
        refused = response.status_code in (400, 422) or "response_format" in response.text
        if json_schema is not None and response.status_code >= 400 and refused and self._fallback():
            log.info("llm.schema_format_refused", format="json_schema", status=response.status_code)
            body["response_format"] = self._response_format(json_schema)
            response = self._post(body)
        if response.status_code >= 400:
            raise LLMError(f"the LLM server at {self._endpoint} answered {response.status_code}: {response.text[:300]}")
        reply = response.json()
        usage = reply.get("usage") or {}
        log.info(
            "llm.completed",
            backend="openai",
            task=current_task(),
            prompt_tokens=usage.get("prompt_tokens"),
            # A llama.cpp server says how much of the prompt came from its cache; other servers may not.
            prompt_tokens_cached=(usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            seconds=_since(started),
        )
        content = reply["choices"][0]["message"].get("content") or ""
        # The same reply as the embedded model's would be: cut where it starts repeating itself.
        if json_schema is not None:
            watch = RepeatWatch()
            watch.feed(content)
            if note := _repeat_note(watch):
                log.info("llm.repeat_cut", backend="openai", task=current_task(), **note)
            return watch.text()
        return content

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is not reachable through the OpenAI API; ~4 characters a token
        # is the usual English estimate and errs on the side of smaller chunks.
        return len(text) // 4 + 1

    def _response_format(self, schema: dict) -> dict:
        if self._schema_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
        # llama.cpp server, vLLM and others read a `schema` beside json_object.
        return {"type": "json_object", "schema": schema}

    def _fallback(self) -> bool:
        if self._schema_format == "json_schema":
            self._schema_format = "json_object"
            return True
        return False

    def _post(self, body: dict) -> httpx.Response:
        try:
            return self._client.post(self._endpoint, json=body)
        except httpx.TransportError as exc:
            raise ModelUnavailable(
                f"cannot reach the LLM server at {self._endpoint} ({exc.__class__.__name__}: {exc}); "
                "check LLM_URL or set LLM_BACKEND=embedded"
            ) from exc


def build_llm(settings: LLMSettings, models_dir: Path) -> LLM:
    if settings.backend == "openai":
        if not settings.url:
            raise ModelUnavailable("LLM_BACKEND=openai needs LLM_URL (e.g. http://localhost:11434/v1)")
        return OpenAICompatibleLLM(
            settings.url,
            model=settings.model,
            api_key=settings.api_key,
            context_window=settings.context_window,
            timeout=settings.timeout,
        )
    model_path = resolve_llm_model_path(settings.model_path, models_dir)
    return EmbeddedLLM(model_path, context_window=settings.context_window, threads=settings.threads)


_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def strip_code_fences(text: str) -> str:
    """Small models wrap JSON in ```json fences even when asked not to."""
    match = _FENCE.match(text)
    return match.group(1) if match else text.strip()


def json_schema_for(struct_type: type) -> dict:
    """msgspec's JSON schema with every `$ref` inlined: grammar builders handle refs unevenly."""
    schema = msgspec.json.schema(struct_type)
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            # Drop msgspec's "title" annotations (strings), not a property that is called "title".
            return {
                key: inline(value) for key, value in node.items() if not (key == "title" and isinstance(value, str))
            }
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return inline(schema)


def complete_json(
    llm: LLM,
    messages: list[ChatMessage],
    struct_type: type[T],
    *,
    max_tokens: int = 512,
    temperature: float = 0.2,
) -> T:
    """Ask for JSON matching `struct_type`; one retry, LLMError if that fails too.

    A reply cut off at `max_tokens` is retried with twice the room and a request to be brief (showing
    the model its rambling reply would only invite more); an invalid complete reply is shown back with
    the error.
    """
    schema = json_schema_for(struct_type)
    conversation = list(messages)
    error: Exception | None = None
    for attempt in (1, 2):
        reply = llm.complete(conversation, json_schema=schema, max_tokens=max_tokens, temperature=temperature)
        try:
            return msgspec.json.decode(strip_code_fences(reply).encode(), type=struct_type)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            error = exc
            truncated = "truncated" in str(exc)
            log.warning("llm.invalid_json", attempt=attempt, truncated=truncated, error=str(exc), reply=reply[:200])
            if truncated:
                max_tokens *= 2
                last = messages[-1]
                conversation = [*messages[:-1], ChatMessage(last.role, last.content + "\nKeep every field brief.")]
            else:
                conversation = [
                    *messages,
                    ChatMessage("assistant", reply[:2000]),
                    ChatMessage("user", f"That reply was not valid: {exc}. Answer again with JSON only."),
                ]
    raise LLMError(f"the LLM did not produce valid {struct_type.__name__} JSON: {error}")


def _repeat_note(watch: RepeatWatch | None) -> dict[str, int]:
    """For the log: how much of a reply was left once it was cut at a repeat (nothing when not cut)."""
    return {"cut_at_repeat_chars": len(watch.text())} if watch is not None and watch.repeated else {}


def _since(started: float) -> float:
    return round(time.monotonic() - started, 2)
