"""Whether a sentence settles something, or proposes it: the rules `outcomes` reads decisions with.

A sentence settles something when it says so in agreement or decision words ("we will cut ...", "let's",
"keep them", "from now on") or states a refusal as a rule ("No conference sponsorship this year"). A
question, a tentative proposal ("should we ...?", "I think ..."), running the meeting ("let's move on"),
a task for somebody ("Tom, please ..."), somebody's own task ("I will ..."), an earlier decision told
about ("we had agreed to twelve status meetings") and one put off ("we will decide that once we know the
price") settle nothing.
"""

import re

from reflector.pipelines.topic_segmentation import content_stems

# "let's" opens a clause ("Then let's ...", "Yes, let's ..."): in the middle of one it is a mis-heard word.
_AGREEMENT = re.compile(
    r"(^|\b(so|then|and|ok|okay|yes|yeah|fine|good|great|right|now|well|alright) )(let's|lets|let us)\b|"
    r"\b(agree|agreed|agreement|decide|decided|decision|settled|approve|approved|confirmed|"
    r"we will|we'll|we are going to|we're going to|we are not|we're not|we won't|"
    r"go with|going with|go ahead|stick with|from now on|no more|no objection|we've decided|we have decided|"
    r"it is,? then|it's settled|that's final|go for it|"
    r"that is the (goal|plan|target)|that's the (goal|plan|target)|"
    r"we (will |'ll )?(keep|remove|replace|cut|switch|move|stop|start|launch|hire|try|skip|postpone|delay|"
    r"push|drop|use|make|go))\b|^keep\b"
)
# "No conference sponsorship this year" is a rule; "No, that was funny" and "No, I was late" are answers.
_REFUSAL = re.compile(
    r"^((so|then|ok|okay|fine|right|good|great) )?no (?!(idea|problem|worries|need|thanks|thank|way|one|doubt|"
    r"that|it|this|i|we|you|he|she|they|not|sir|ma'am|questions?|comments?|rush|hurry|worries|on|in|at|for|to|"
    r"but|so|of|the|well|actually|sorry|wait|and|because|really|just|i'm|it's|that's)\b)[a-z]"
)
_TOLD_ABOUT = re.compile(
    r"\b(had|already|previously|once) (agreed|decided|approved)\b|\b(they|he|she) (agreed|decided)\b|"
    r"\b(agreed|decided) (last|in the|back in|years?|months?|weeks? ago)\b|"
    r"\b(remember|recall) (that )?we (agreed|decided)\b|"
    r"\b(agreed|decided) (in|on) (january|february|march|april|may|june|july|august|september|october|november|"
    r"december|spring|summer|autumn|fall|winter)\b"
)
# Put off, not settled: "We will decide that once we know the price", "let's settle it next week".
_DEFERRED = re.compile(
    r"\b(we will|we'll|we can|we are going to|we're going to|let's|let us|to) (decide|settle|agree on|revisit)\b|"
    r"\b(decide|settle|agree on) (it|that|this|them|on it|on that)? ?(later|once|when|after|next)\b|"
    r"\b(bring (it|that|this|them) back|park (it|that|this|them)|table (it|that|this))\b|"
    r"\b(let's|let us) not\b.*\b(today|tonight|now)$"
)
_TENTATIVE = re.compile(
    r"^(i would|i'd|i think|i guess|maybe|perhaps|should we|shall we|could we|can we|what if|how about|"
    r"why not|i propose|i suggest)\b"
)
_PROCEDURE = re.compile(
    r"^((now|so|ok|okay|good|right|great|fine|well|alright|and|then) )*"
    r"(let's|let us) (move|go(?! with)|turn|talk|start|come back|get|look|hear|discuss|see|"
    r"not decide|take|begin|wrap|think|imagine|assume)\b"
)
_OWN_TASK = re.compile(r"^(i will|i'll|i can|i am going to|i'm going to|i need to|i should)\b")
# "Tom, please write ...", "someone needs to tell ...", "Sofia will write ...": a task, an action item.
_TASK = re.compile(
    r"\b(please|can you|could you|would you|will you|someone needs to|somebody needs to|someone has to|"
    r"somebody has to|who (will|can|updates|owns|takes)|(would|'d) like [a-z]+ to)\b"
)
_SOMEONE_WILL = re.compile(r"^(?!(We|They|It|That|This|There|Then|So|And|But)\b)[A-Z][a-z]+ (will|is going to)\b")
_WORD = re.compile(r"[a-z0-9']+")


def settles(sentence: str) -> bool:
    """Whether the sentence, on its own, settles something: agreement or decision words, or a refusal
    stated as a rule, and not a question, a proposal, a task or an earlier decision told about."""
    plain = plain_words(sentence)
    if _TASK.search(plain) or _SOMEONE_WILL.match(sentence.strip()) or sentence.rstrip().endswith("?"):
        return False
    if _TOLD_ABOUT.search(plain) or _DEFERRED.search(plain):
        return False
    if _REFUSAL.match(plain):
        return True
    return (
        not _TENTATIVE.match(plain)
        and bool(_AGREEMENT.search(plain))
        and not _PROCEDURE.match(plain)
        and not _OWN_TASK.match(plain)
    )


_PROPOSAL_LEAD = re.compile(
    r"^((so|and|then|but|well)[, ]+)?(should we|shall we|could we|can we|what if we|how about we|how about|"
    r"what about|why don't we|why not|(i|i would|i'd) (propose|suggest)( that)?( we)?|"
    r"my (proposal|suggestion) is( that)?( we)?|we could|we should|maybe we (could|should|can)|"
    r"i move that( we)?|i'd like to propose( that)?( we)?)\s+"
    r"((also|just|instead)\s+)?",
    re.IGNORECASE,
)


def proposes(text: str) -> str | None:
    """What the last proposal of `text` proposes ("Should we move the offsite to October?" -> "Move the
    offsite to October"), or None when it proposes nothing."""
    for sentence in reversed(re.split(r"(?<=[.!?])\s+", text.strip())):
        if match := _PROPOSAL_LEAD.match(sentence):
            rest = sentence[match.end() :].rstrip("?.! ")
            if content_stems(rest):
                return rest[:1].upper() + rest[1:]
    return None


def plain_words(text: str) -> str:
    """The words of `text`, lower case, apostrophes straightened, punctuation dropped."""
    return " ".join(_WORD.findall(text.lower().replace("’", "'")))
