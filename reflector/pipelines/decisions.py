"""Decisions the meeting took, each backed by the line where it was taken.

A small model lists facts ("Crash reports are down"), opinions and plans someone merely proposed as
decisions, and on a meeting without any it invents one from a story ("we had agreed to twelve status
meetings"). So the model writes, before each decision, the transcript sentence it comes from (the
grammar makes it), and a decision is kept only when

- that quote is found in the transcript (most of its words in one line: `grounding.quoted_line`),
- the quote says the group settled something: agreement or decision words ("we are agreed", "let's",
  "we will cut ...", "keep them"), or a refusal stated as a rule ("No sponsorship this year"), and
  neither a question, a tentative proposal ("I would keep ...", "maybe we could ...") nor an earlier
  decision told about ("we had agreed to ...", "they decided last year"),
- the decision shares a content word with its quote, names nobody and no figure the transcript lacks,
  and is not somebody's own task ("I will ...", an action item).

Every dropped decision is logged with why.
"""

import re
from collections.abc import Sequence

import msgspec
import structlog

from reflector.pipelines.grounding import Grounding, quoted_line, quoted_words

log = structlog.get_logger(__name__)


class DecisionReply(msgspec.Struct):
    # The quote comes first: the model writes the decision from the line it has just copied.
    quote: str
    decision: str


_AGREEMENT = re.compile(
    r"\b(agree|agreed|agreeing|agreement|decide|decided|decision|settled|approve|approved|confirmed|"
    r"let's|lets|let us|we will|we'll|we are going to|we're going to|we are not|we're not|we won't|"
    r"we will not|go with|going with|go ahead|stick with|we keep|we'll keep|we will keep|drop|dropping|"
    r"from now on|no more|no objection|that is the (goal|plan|target)|that's the (goal|plan|target)|"
    r"we (will |'ll )?(remove|replace|cut|switch|move|stop|start|launch|hire|try|skip|postpone|delay|push))\b|"
    r"^keep\b"
)
# "No conference sponsorship this year": a refusal stated as the rule ("No, that was funny" is an answer).
_REFUSAL = re.compile(r"^no (?!(idea|problem|worries|need|thanks|thank|way|one|doubt)\b)[a-z]")
_TOLD_ABOUT = re.compile(
    r"\b(had|already|previously|once) (agreed|decided|approved)\b|\b(they|he|she) (agreed|decided)\b|"
    r"\b(agreed|decided) (last|in the|back in|years?|months?|weeks? ago)\b"
)
_TENTATIVE = re.compile(
    r"^(i would|i'd|i think|i guess|maybe|perhaps|should we|could we|can we|what if|how about|why not)\b"
)
# Running the meeting, not deciding anything: "Let's move to follow-ups", "Let's not decide today".
_PROCEDURE = re.compile(
    r"^(now |so |ok |okay )?(let's|let us) (move|go|turn|talk|start|come back|get|look|hear|discuss|see|not decide|"
    r"try to keep|take|begin|wrap)\b"
)
# "I will cancel that myself": somebody's own task, an action item.
_OWN_COMMITMENT = re.compile(r"^(i will|i'll|i can|i am going to|i'm going to)\b")
_OWN_TASK = re.compile(r"^(i will|i'll|i can|i am going to|i'm going to|i need to|i should)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    "the a an to of and or in on at for by with we our is are be will that this it as so no not".split()  # noqa: SIM905
)


def settles_something(quote: str) -> str | None:
    """Why the quoted words are not a decision being taken, or None when they are one."""
    words = quoted_words(quote)
    if len(words) < 3:
        return "quote too short to show a decision"
    text = " ".join(words)
    if quote.rstrip().endswith("?"):
        return "a question"
    if _TOLD_ABOUT.search(text):
        return "an earlier decision told about"
    sentences = [s.strip().lower() for s in re.split(r"(?<=[.!?:;])\s+", quote) if s.strip()]
    plain = [" ".join(_WORD.findall(s)) for s in sentences]
    if any(_REFUSAL.match(s) for s in sentences):
        return None
    settling = [s for s in plain if _AGREEMENT.search(s)]
    if not settling:
        return "no agreement or decision words"
    if all(_TENTATIVE.match(s) for s in settling):
        return "a proposal, not a decision"
    if all(_PROCEDURE.match(s) for s in settling):
        return "running the meeting, not a decision"
    if all(_OWN_COMMITMENT.match(s) for s in settling):
        return "somebody's own task, not a decision"
    return None


def _content(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) >= 3}


def supported_decisions(
    replies: Sequence[DecisionReply], lines: list[tuple[str, str]], grounding: Grounding
) -> list[str]:
    """The decisions whose quote shows the meeting taking them (see the module docstring), each once."""
    kept: list[str] = []
    for reply in replies:
        decision = reply.decision.strip()
        why = _unsupported(reply, decision, lines, grounding)
        if why:
            log.info("decisions.dropped", decision=decision, quote=reply.quote, why=why)
            continue
        decision = decision[:1].upper() + decision[1:]
        if decision.lower() not in {k.lower() for k in kept}:
            kept.append(decision)
    return kept


def _unsupported(reply: DecisionReply, decision: str, lines: list[tuple[str, str]], grounding: Grounding) -> str:
    if not decision:
        return "empty"
    if _OWN_TASK.match(decision):
        return "somebody's own task, not a decision"
    if quoted_line(reply.quote, lines) is None:
        return "quote not in the transcript"
    why = settles_something(reply.quote)
    if why:
        return why
    if not _content(decision) & _content(reply.quote):
        return "decision not about its quote"
    if not grounding.is_grounded(decision):
        return "names a person or figure nobody said"
    return ""
