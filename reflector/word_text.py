"""How a word's text travels on Reflector's wire: with the space that goes before it.

Whisper writes each word with its leading space (" Hello.", " I", " didn't"), Reflector keeps them so,
and its clients rebuild sentences with `"".join(...)`. We store words without it, which is what our pages,
exports, search and renderers want; the space is put back only where a word list leaves through the API
or an event. Scripts written without spaces between words (Chinese, Japanese, Thai) get none, as Whisper
writes them.
"""

import unicodedata

_UNSPACED_SCRIPTS = ("CJK ", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "IDEOGRAPHIC")


def on_the_wire(text: str) -> str:
    if not text or text[0].isspace() or _unspaced(text[0]):
        return text
    return " " + text


def _unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)
