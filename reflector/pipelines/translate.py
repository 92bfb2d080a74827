"""Machine translation of a caption through the LLM backend (the embedded model or an OpenAI-compatible one)."""

from reflector.pipelines.protocols import LLM, ChatMessage

PROMPT = (
    "Translate the text from {source} into {target}. Keep names and numbers as they are. "
    "Reply with the translation only, no notes."
)


def translate(llm: LLM, text: str, source: str, target: str) -> str:
    """`text` in `target` (language names or codes, as a person would write them); "" for empty text."""
    text = text.strip()
    if not text:
        return ""
    messages = [
        ChatMessage("system", PROMPT.format(source=source, target=target)),
        ChatMessage("user", text),
    ]
    reply = llm.complete(messages, max_tokens=max(32, 3 * len(text.split()) + 16), temperature=0.0)
    return reply.strip().strip('"').strip()
