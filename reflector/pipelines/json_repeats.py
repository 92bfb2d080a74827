"""A JSON reply that starts repeating one array element is cut before the repeat and closed.

A small model writing a list under a grammar sometimes loops: the same action item again and again until
the list's cap, hundreds of tokens (on 2 cores, tens of seconds) that are all dropped afterwards as "the
same task again". An element identical to an earlier one of the same array never adds anything, and a
model that wrote one copy writes the next, so the reply is complete at the last distinct element.
`RepeatWatch` reads the reply as it is written, so that the embedded LLM can stop generating there; a
reply read whole (an OpenAI-compatible server's) is fed to it in one piece, for the same cut.
"""

from dataclasses import dataclass, field

_CLOSER = {"{": "}", "[": "]"}


@dataclass
class _Container:
    opener: str
    # Arrays only: where the element being read started, the elements read so far (their text), and
    # where the last of them ended (the reply is whole up to there).
    element_start: int | None = None
    elements: set[str] = field(default_factory=set)
    whole_to: int = 0


class RepeatWatch:
    """Fed a JSON text piece by piece; `feed` says when an array's element repeats an earlier sibling."""

    def __init__(self) -> None:
        self._text = ""
        self._stack: list[_Container] = []
        self._in_string = False
        self._escaped = False
        self._cut: str | None = None

    def feed(self, piece: str) -> bool:
        """Reads `piece`; True once a repeat is found (what follows is ignored)."""
        if self._cut is not None:
            return True
        start = len(self._text)
        self._text += piece
        for index in range(start, len(self._text)):
            self._read(self._text, index)
            if self._cut is not None:
                return True
        return False

    @property
    def repeated(self) -> bool:
        return self._cut is not None

    def text(self) -> str:
        """The reply read so far, or, once a repeat was found, the reply up to its last distinct element,
        closed."""
        return self._cut if self._cut is not None else self._text

    def _read(self, text: str, index: int) -> None:
        char = text[index]
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif char == "\\":
                self._escaped = True
            elif char == '"':
                self._in_string = False
            return
        if char.isspace():
            return
        top = self._stack[-1] if self._stack else None
        if char in "]}":
            if top is not None and top.opener == "[":
                self._end_element(text, index)
                if self._cut is not None:
                    return
            if self._stack:
                self._stack.pop()
            return
        if char == ",":
            if top is not None and top.opener == "[":
                self._end_element(text, index)
            return
        if top is not None and top.opener == "[" and top.element_start is None:
            top.element_start = index
        if char == '"':
            self._in_string = True
        elif char in "[{":
            self._stack.append(_Container(char, whole_to=index + 1))

    def _end_element(self, text: str, index: int) -> None:
        array = self._stack[-1]
        if array.element_start is None:  # "[]", or a stray comma
            return
        element = " ".join(text[array.element_start : index].split())
        array.element_start = None
        if element in array.elements:
            closers = "".join(_CLOSER[c.opener] for c in reversed(self._stack))
            self._cut = text[: array.whole_to] + closers
            return
        array.elements.add(element)
        array.whole_to = index
