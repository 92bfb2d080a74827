"""Decisions the meeting took, each found in the line where the group took it.

A small model lists facts ("Search goes up to seventy five thousand"), opinions and plans somebody merely
proposed as decisions, and on a meeting without any it invents one from a story ("we had agreed to twelve
status meetings"). The model is not asked for evidence (a quote per decision in its reply cost it the
action items, see the README's Analysis quality): each decision it lists is looked up here, in the
transcript lines that share the most of its content words, and kept only when such a line settles
something — agreement or decision words ("we will cut ...", "let's", "keep them"), a refusal stated as a
rule ("No conference sponsorship this year") — or proposes it and the next speaker accepts ("Should we
move it to May?" — "Yes, let's."). A question, a tentative proposal nobody accepted, running the meeting
("let's move on"), somebody's own task and an earlier decision told about are not decisions. Every
dropped decision is logged with why.
"""

import math
import re
from collections.abc import Sequence

import structlog

from reflector.pipelines.topic_segmentation import content_stems

log = structlog.get_logger(__name__)

# A decision's line holds at least this share of its content words (at least one).
MIN_SHARED = 0.4

_AGREEMENT = re.compile(
    r"\b(agree|agreed|agreement|decide|decided|decision|settled|approve|approved|confirmed|"
    r"let's|lets|let us|we will|we'll|we are going to|we're going to|we are not|we're not|we won't|"
    r"go with|going with|go ahead|stick with|from now on|no more|no objection|"
    r"that is the (goal|plan|target)|that's the (goal|plan|target)|"
    r"we (will |'ll )?(keep|remove|replace|cut|switch|move|stop|start|launch|hire|try|skip|postpone|delay|"
    r"push|drop|use|make|go))\b|^keep\b"
)
# "No conference sponsorship this year" is a rule; "No, that was funny" is an answer.
_REFUSAL = re.compile(
    r"^((so|then|ok|okay|fine|right|good|great) )?no (?!(idea|problem|worries|need|thanks|thank|way|one|doubt)\b)[a-z]"
)
_TOLD_ABOUT = re.compile(
    r"\b(had|already|previously|once) (agreed|decided|approved)\b|\b(they|he|she) (agreed|decided)\b|"
    r"\b(agreed|decided) (last|in the|back in|years?|months?|weeks? ago)\b"
)
_TENTATIVE = re.compile(
    r"^(i would|i'd|i think|i guess|maybe|perhaps|should we|shall we|could we|can we|what if|how about|"
    r"why not|i propose|i suggest)\b"
)
_PROCEDURE = re.compile(
    r"^(now |so |ok |okay )?(let's|let us) (move|go|turn|talk|start|come back|get|look|hear|discuss|see|"
    r"not decide|take|begin|wrap)\b"
)
_OWN_TASK = re.compile(r"^(i will|i'll|i can|i am going to|i'm going to|i need to|i should)\b")
# "Tom, please write ...", "someone needs to tell ...", "Sofia will write ...": a task, an action item.
_TASK = re.compile(
    r"\b(please|can you|could you|would you|will you|someone needs to|somebody needs to|someone has to|"
    r"somebody has to|who (will|can|updates|owns|takes)|(would|'d) like [a-z]+ to)\b"
)
_SOMEONE_WILL = re.compile(r"^(?!(We|They|It|That|This|There|Then|So|And|But)\b)[A-Z][a-z]+ (will|is going to)\b")
_ACCEPTS = re.compile(
    r"^(yes|yeah|yep|agreed|ok|okay|sure|fine|deal|done|sounds good|good idea|great idea|works for me|"
    r"let's do (it|that)|that works|absolutely|makes sense|of course)\b"
)
_WORD = re.compile(r"[a-z0-9']+")
_NEGATION = re.compile(r"\b(no|not|don't|won't|never|none|against|rather not)\b")
PROPOSAL = "a proposal"
TASK = "a task for somebody"
TOLD_ABOUT = "an earlier decision told about"
NO_WORDS = "no agreement or decision words"


def settled_decisions(decisions: Sequence[str], lines: Sequence[tuple[str, str]]) -> list[str]:
    """The decisions a line of the transcript shows the group taking (`lines`: speaker, text)."""
    stems = [set(content_stems(text)) for _, text in lines]
    kept: list[str] = []
    for decision in decisions:
        why = _not_settled(decision, lines, stems)
        if why:
            log.info("decisions.dropped", decision=decision, why=why)
        else:
            kept.append(decision)
    return kept


def _not_settled(decision: str, lines: Sequence[tuple[str, str]], stems: list[set[str]]) -> str:
    """Why no line shows `decision` being taken, or "" when one does."""
    if _OWN_TASK.match(_plain(decision)):
        return "somebody's own task, not a decision"
    said = set(content_stems(decision))
    saying = _lines_saying(said, stems)
    if not saying:
        return "no line of the transcript says it"
    negated = bool(_NEGATION.search(_plain(decision)))
    reasons = [_settles(lines[index][1], said, negated) for index in saying]
    if reasons[0] in (TOLD_ABOUT, TASK):
        # The line that says it best tells of an earlier decision, or gives somebody a task: the model
        # retold the story, or listed an action item.
        return reasons[0]
    for index, why in zip(saying, reasons, strict=True):
        if not why or (why == PROPOSAL and _accepted(lines, index, said, negated)):
            return ""
    return reasons[0]


def _lines_saying(said: set[str], stems: list[set[str]]) -> list[int]:
    """The lines that say much of `said`, alone or with the two lines before them (a decision is often
    put in few words after the lines that discussed it: "I agree, no contractor for now"), the line
    that says the most of it first."""
    own = [len(said & line) for line in stems]
    context = [len(said & set().union(*stems[max(0, i - 2) : i + 1])) if n else 0 for i, n in enumerate(own)]
    # Lines that share a word or two with it are not where it was said when another says much more.
    enough = max(1, math.ceil(MIN_SHARED * len(said)), max(own, default=0) - 1)
    saying = [i for i in range(len(stems)) if own[i] >= enough or context[i] >= enough]
    return sorted(saying, key=lambda i: (-own[i], -context[i]))


def _settles(text: str, said: set[str], negated: bool) -> str:
    """Why `text` takes no decision about `said` (content stems), or "" when one of its sentences does.

    Only the sentences that speak of the decision count ("Then let's do it properly. Tom, please write
    the design document": the second, a task); a short agreement just before one settles what it
    says ("Keep them. Five thousand for meetups for the quarter.")."""
    sentences = [s for s in re.split(r"(?<=[.!?;])\s+", text.strip()) if s]
    reasons = []
    for i, sentence in enumerate(sentences):
        if not said & set(content_stems(sentence)):
            continue
        why = _sentence_settles(sentence)
        if not why and bool(_NEGATION.search(_plain(sentence))) != negated:
            # "No contractors this year" settles "No contractors", never "Invite the contractors".
            why = "settles the opposite"
        before = sentences[i - 1] if i else ""
        if why == NO_WORDS and before and len(_plain(before).split()) <= 4 and not _sentence_settles(before):
            why = ""
        if not why:
            return ""
        reasons.append(why)
    # A proposal in the line is what an acceptance after it would settle.
    return PROPOSAL if PROPOSAL in reasons else (reasons[0] if reasons else NO_WORDS)


def _sentence_settles(sentence: str) -> str:
    plain = _plain(sentence)
    if _TASK.search(plain) or _SOMEONE_WILL.match(sentence.strip()):
        return TASK
    if sentence.rstrip().endswith("?"):
        return PROPOSAL if _TENTATIVE.match(plain) else "a question"
    if _TOLD_ABOUT.search(plain):
        return TOLD_ABOUT
    if _REFUSAL.match(plain):
        return ""
    if _TENTATIVE.match(plain):
        return PROPOSAL
    if not _AGREEMENT.search(plain):
        return NO_WORDS
    if _PROCEDURE.match(plain):
        return "running the meeting"
    if _OWN_TASK.match(plain):
        return "somebody's own task"
    return ""


def _accepted(lines: Sequence[tuple[str, str]], index: int, said: set[str], negated: bool) -> bool:
    """Whether somebody else takes the proposal of line `index` as the decision says: "Yes, let's do
    that." right after it, or within two lines a decision of the same sense ("Could we hire a
    contractor?" ... "I agree, no contractor for now" settles "No contractor", not "Hire a contractor")."""
    after = [line for line in lines[index + 1 : index + 3] if line[0] != lines[index][0]]
    if after and after[0] is lines[index + 1] and _ACCEPTS.match(_plain(after[0][1])) and not negated:
        return True
    return any(not _settles(text, said, negated) for _, text in after)


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("’", "'")))
