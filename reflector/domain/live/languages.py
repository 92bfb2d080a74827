"""The languages of a live recording's captions."""

from reflector.domain.transcripts.models import TranscriptView


def caption_languages(transcript: TranscriptView) -> tuple[str, str | None]:
    """The language spoken, and the one the captions are translated into (None: not translated)."""
    source = transcript.source_language or "en"
    target = transcript.target_language or source
    return source, (target if target != source else None)
