"""Reading the shared recordings' reference transcripts (STM: file, channel, speaker, start, end, text)."""

import re
from pathlib import Path


def normalise(text: str) -> str:
    """Lower case, punctuation gone: the form word error rates are taken on."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def read_stm(path: Path) -> list[tuple[str, float, float, str]]:
    """(speaker, start, end, text) for each line."""
    rows = []
    for line in path.read_text().splitlines():
        _file, _channel, speaker, start, end, text = line.split(maxsplit=5)
        rows.append((speaker, float(start), float(end), text))
    return rows


def reference_text(path: Path) -> str:
    """The whole reference transcript, normalised."""
    return normalise(" ".join(text for *_, text in read_stm(path)))
