"""Decisions and action items, read from the lines where the meeting took them.

A 1.5B model asked for "every decision and every task" listed facts as decisions, wrote a decision as
somebody's task, missed half the tasks, gave tasks to whoever asked for them and now and then invented
one on a chat that had none (README, Analysis quality). Asked about the candidate lines one list at a
time, it wrote what it remembered of the meeting beside the wrong line; asked one line at a time, it
called every line a task. What people act on is said in a few set ways, which rules read reliably:

- a request: "Tom, please write ...", "Evan, can you send ... by Friday?", "would you mind ringing ...",
  "can I ask you to ...", "I need you to ..." (and the answer after it:
  "I will send it on Thursday" — the answerer takes it on, and a date in the answer is the due date);
- a promise: "I will renew the certificate this week", "I can take the checklist copy";
- a task given by name: "Priya will fix the export bug", "I would like Lena to review it", "so, Tom to
  send the deck", "Action for Priya: write the tests" (minutes dictated aloud), told of ("Meena said she'd
  ask her caterer", "Oliver's agreed to ..."), or to nobody yet: "someone will need to tell the agency ...";
- a decision: the sentences `decisions.settles` reads as the group settling something ("we will cut
  ...", "let's ...", "no conference sponsorship this year", "from now on ...", "so we're agreed, ..."), or a
  proposal accepted by the next speaker ("Should we move it to May?" — "Yes, let's do that.") or a motion
  carried ("I move that we release ..." — "All in favour? Carried.").

Each is returned in the meeting's own words, with the lines it was read from as evidence. Questions,
stories, opinions agreed with ("Agreed, the load test is the gap"), running the meeting ("let me tell
you about us", "can you walk us through it?") and habits ("we try hard to ...") are not outcomes.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from reflector.pipelines.decisions import plain_words, proposes, settles
from reflector.pipelines.grounding import split_sentences
from reflector.pipelines.topic_segmentation import content_stems

# A sentence this short ("Keep them.") says what it settles in the sentence after it.
SHORT_WORDS = 5
# Two tasks of one owner (or one without an owner) whose content words overlap this much are one.
SAME_TASK = 0.5

# "When can you check the farmhouse?" asks for the work as surely as "can you" does, and for a date.
_WH = r"(?<!what )(?<!how )(?<!where )(?<!why )(?<!which )(?<!who )"
_REQUEST = re.compile(
    r"\b(?:(?:can|could|may) i ask you to|i(?:'d| would) like you to|i need you to|(?:would|do) you(?= mind )|"
    r"(?:it'd|it would) be (?:great|good|helpful|lovely|nice) if you could) (?:please )?(?:also )?(?:just )?([a-z].*)|"
    + _WH
    + r"\b(?:can|could|would|will) you (?:please )?(?:also )?(?:just )?([a-z].*)|\bplease (?:just )?([a-z].*)",
    re.IGNORECASE,
)
# Asked for in the meeting itself, not a task after it.
_IN_MEETING = re.compile(
    r"^(tell|walk|talk|describe|explain|give|show|remind|introduce|share your|start by|go ahead|repeat|"
    r"hear|see|say|speak|clarify|elaborate|do that|do it|come in|be|note|like|believe|imagine|guess|think|mute|"
    r"unmute|stop sharing|wait|hold on)\b|^(take|have) a (look|seat)\b|^keep (that|it|this|them) up\b"
)
# "I can never ...", "I will not ...": said after "I can" or "I will", it refuses rather than promises,
# accepts or takes a task on.
_NEGATED = r"(?:never|not|hardly|barely|no longer)\b"
# A promise: "I will ...", "so I'll ...", "I need to ..."; "I can ..." only where it answers ("Sure, I can
# take it"), since mid-sentence it tells what somebody is able to do ("and I can lift it up"). Negated it is
# no promise.
_PROMISE = re.compile(
    r"(?:^|[,;:]\s*|\b(?:so|and|then|but|also|sure|yes|yeah|ok|okay|right|fine|today|tomorrow|or|oh|well|now)\s)"
    r"(?:i will|i'll|i am going to|i'm going to|i plan to|i expect to|let me|i need to|i have to|i should|"
    r"i must|i'm happy to|i am happy to|i volunteer to|i'll take care of|i can take care of)\s(?:also\s)?([a-z].*)|"
    r"^(?:(?:sure|yes|yeah|ok|okay|fine|right|and|so|oh|well)[,\s]+)?i can\s(?:also\s)?([a-z].*)",
    re.IGNORECASE,
)
_NOT_A_PROMISE = re.compile(
    rf"^({_NEGATED}|"
    r"be (honest|brief|quick|there|back|happy|glad|fine|able)|(tell|show|ask) (you|everyone|everybody|us|all)|"
    r"need|want|have to admit|"
    r"ask (a|one|something|the question)|explain|introduce|start|say|think|"
    r"see|know|just|summari[sz]e|recap|share my screen|put it|try to explain|add (one|a) thing|jump in|"
    r"trace|imagine|understand|hear|live with|accept|agree|share|present|demo|walk)\b",
    re.IGNORECASE,
)
_SOMEONE = re.compile(
    r"\b(?:someone|somebody|anyone|one of us) (?:needs to|has to|should|must|will have to|will need to|would need to|"
    r"ought to|has got to|is going to have to) ([a-z].*)|\b(?:we|i) need (?:someone|somebody) to ([a-z].*)",
    re.IGNORECASE,
)
_NAMED_WILL = re.compile(
    r"\b([A-Z][a-z]+) (?:will|is going to|is gonna) (?!(?:all |also |just |then |probably |still )?(?:be|have|not|say|"
    r"think|love|like|hate|know|want|mind|notice|understand|remember|agree|enjoy)\b)"
    r"([a-z].*)"
)
# "Meena said she'd ask her caterer", "Oliver's agreed to chair it": given by name, told of in the meeting.
_NAMED_SAID = re.compile(
    r"\b([A-Z][a-z]+)(?: (?:said|says|has said|told us|promised) (?:that )?(?:she|he|they)(?:'d| would|'ll| will|"
    r" is going to| can| could)|(?:'s| has) (?:agreed|offered|volunteered|promised) to) (?!(?:be|have|not)\b)([a-z].*)"
)
# "I would like Lena to review it", "we need Tom to check the numbers", and minutes dictated aloud: "So,
# Tom to send the deck by Friday."
_NAME_TO = re.compile(
    r"(?:\b(?:would like|'d like|want|need|asked|ask|get|told|tell)\s|^(?:(?:so|then|and|okay|ok),?\s+)?)"
    r"([A-Z][a-z]+) to (?!(?:be|have|decide|say|think)\b)([a-z].*)",
    re.IGNORECASE,
)
# Taking on a task nobody had yet: "I can take that on", "Sure, I'll do it".
_TAKES_ON = re.compile(
    r"^((sure|yes|yeah|ok|okay|fine) )?(i can|i will|i'll|i'm happy to|happy to|let me|leave (it|that|this) with me|"
    rf"i'm on it|i am on it|count me in|i'll do it|i'll take it)\b(?! {_NEGATED})"
)
_ACCEPTS = re.compile(
    r"^(yes|yeah|yep|sure|ok|okay|fine|will do|no problem|of course|absolutely|agreed|deal|done|"
    rf"that works|works for me|sounds good|i can|i will|i'll)\b(?! {_NEGATED})"
)
# Said to agree and nothing else: "Agreed.", "Yes, let's do that.", "Sounds good."
_BARE = re.compile(
    r"^((yes|yeah|sure|ok|okay|fine|agreed|right|good|great|perfect|deal|then|so|i agree|we agree|absolutely|"
    r"definitely|of course|sounds (good|great|fine)( to me)?|that (works|sounds good)( for me| to me)?|works for me|"
    r"makes sense|"
    r"(good|great) idea|fine (by|with) me|that's (fine|good|great)|go for it)\s?)*"
    r"((let's|let us|we will|we'll) (do|go with|try) (that|it|this)( then)?|agreed|i agree|no objections?)?$"
)
_BUT = re.compile(r"^(but|however|although|though|only if|unless)\b")
_AGREE_LEAD = re.compile(
    r"^((so|then|ok|okay|fine|good|great|right|yes)[, ]+)*"
    # "I agree with Dana, ..." agrees with a person; "I agree with dropping the conference" with a proposal.
    r"(we are agreed|we're agreed|we agreed|agreed|i agree with (?:you|that|this|him|her|them|(?![a-z]+ing\b)[a-z]+)|"
    r"i agree|we agree|"
    r"it's decided|decided|decision|"
    r"(that's|that is|it's|it is) (settled|decided|agreed)\.?)"
    r"( for (today|now|the record))?( with| on| that)?\b[:,.]?\s*",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^((so|then|ok|okay|fine|good|great|right|yes|and|but|true|well|also)[, ]+)+", re.IGNORECASE)
# A story of how a decision was taken, not the decision: "It took us an hour to decide to roll back."
_STORY = re.compile(r"\b(took (us|them|me|him|her)|used to|last (time|year|month|week)|to decide)\b")
# What will happen rather than what was chosen: "We will lose the event if the user closes the app".
_PREDICTION = re.compile(r"\bwe('ll| will) (lose|miss|need|have|be|get|see|know|find|probably|likely|never)\b")
_NEXT_ITEM = re.compile(r"^(now|next|okay|ok|anyway|last|first|finally|moving on)\b", re.IGNORECASE)
# "it", "them": the task the line before gave ("Carl will pull the numbers" — "I will pull them ...").
_SAME_THING = re.compile(r"\b(it|them|that|this|one)\b", re.IGNORECASE)
# "the load test is the gap", "that tart looked unreal", "it drifted by two degrees": a statement of
# opinion or fact, where what follows "agreed" is one.
_COPULA = re.compile(r"^(\S+ ){0,3}(is|are|was|were|been|sounds|seems|looks|feels|tastes|[a-z]+ed)\b")
# Leads that sum up what the group settled ("So we're agreed, the payment provider is the sprint goal"),
# where the copula states the decision rather than an opinion agreed with.
_SUMS_UP = re.compile(r"\b(we are agreed|we're agreed|we agreed|decided|settled|decision)\b", re.IGNORECASE)
# Running the meeting, not deciding anything: "Let's keep this short", "The goal of this meeting is ..."
_ABOUT_THE_MEETING = re.compile(
    r"\b(this|the|today's) (meeting|call|session|agenda)\b|\bkeep (this|it) (short|brief|quick)\b|\bsee you\b|"
    r"\bbefore we (start|begin)\b|\bget started\b|\bcouple of minutes\b|"
    r"\bkeep (each one|each|it|this|them|things) (short|brief|quick|to (a|one|two|three|five|ten) minutes?)\b"
)
# A choice names one thing: "we're going with lemon".
_CHOSEN = re.compile(r"\b(go|going|stick|sticking) with\b", re.IGNORECASE)
# Present tense states a habit ("we try hard to ...") unless the line marks it as new.
_PRESENT_WE = re.compile(r"\bwe (keep|remove|replace|cut|switch|move|stop|start|launch|hire|try|skip|use|make|go)\b")
_NEW = re.compile(r"^(then|so)\b|\b(for now|from now on|this (year|quarter|month|week|time)|going forward|instead)\b")

_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
_WHEN = (
    rf"(?:end o[fn] (?:the |this |next )?(?:day|week|month|quarter|year|sprint|{_MONTH})|"
    rf"(?:next|this) (?:week|month|quarter|year|sprint|review|meeting|session|{_DAY})|"
    rf"{_DAY}(?: (?:morning|afternoon|evening))?|today|tonight|tomorrow(?: (?:morning|afternoon|evening))?|"
    r"this (?:morning|afternoon|evening)|"
    rf"(?:the )?(?:first|second|third|\w+th) of {_MONTH}|{_MONTH} \w+|{_MONTH}|"
    r"the next (?:board |team )?(?:review|meeting|session|sprint|release|retro|call)|"
    r"asap|as soon as possible|right away|straight away)"
)
# "by the 30th", "on the fourteenth": a day of this month.
_ORDINAL = (
    r"(?:\d{1,2}(?:st|nd|rd|th)|(?:twenty |thirty )?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"thirtieth))"
)
_DUE = re.compile(
    rf"\b(?:by|before|until|on) the {_ORDINAL}\b(?! of)|"
    rf"\b(?:(?:by|before|until|on|after|to|for|at|in) (?:the )?)?{_WHEN}\b|"
    r"\b(?:in|within) (?:a|one|two|three|\w+) (?:days?|weeks?)\b",
    re.IGNORECASE,
)
_DUE_AT_END = re.compile(rf"(?<!\bof)(?<!\bof )(?:\s*(?:{_DUE.pattern}))+\s*$", re.IGNORECASE)
# "Who updates the pricing page?": a task nobody has taken yet.
_WHO = re.compile(
    r"\b(?:who|who's|who is) (?:will |can |going to |is going to |wants to )?([a-z]+) ([a-z].*)", re.IGNORECASE
)


@dataclass(frozen=True)
class Outcome:
    """A decision or an action item, with the lines it was read from."""

    kind: Literal["task", "decision"]
    text: str  # the task from its verb on, or what was settled, in the meeting's words
    owner: str | None
    due: str | None
    line: int  # the transcript line it was read from
    evidence: str  # "Maria: Tom, please write ...\nTom: Okay, next Tuesday works for me."


def _clause(text: str) -> str:
    """The clause a task or decision starts: up to the sentence's end, a semicolon, or a comma before
    another clause (", so", ", because", ", she was ...")."""
    text = re.split(
        r"[;?!]|\.(?:\s|$)|,\s(?:so|because|since|as|but|otherwise|or|while|which|depending|"
        r"i|you|he|she|we|they|it|that|there)\b|"
        # "... before somebody else grabs the date": a reason, not part of the task.
        r"\s(?:before|so that|in case) (?:somebody|someone|anyone|they|we|it|he|she|you|i)\b",
        text,
        flags=re.IGNORECASE,
    )[0]
    return text.strip(" ,.")


def _task_in(sentence: str, people: Sequence[str], answering: bool = True) -> tuple[str, str | None] | None:
    """(task, whose task it is when the sentence says) for a sentence that gives somebody a task.
    `answering`: the sentence opens its turn, where "I can ..." offers ("I can take the copy") rather
    than tells what the speaker is able to do ("I would rather not. I can track them by hand.")."""
    sentence = sentence.replace("’", "'")
    for wanted in _NAME_TO.finditer(sentence):
        if person := _person(wanted.group(1), people):
            return _clause(wanted.group(2)), person
    for named in [*_NAMED_WILL.finditer(sentence), *_NAMED_SAID.finditer(sentence)]:
        if person := _person(named.group(1), people):
            return _clause(named.group(2)), person
    asked = None if proposes(sentence) else _REQUEST.search(sentence)
    if asked and not _IN_MEETING.match((task := _base_form(next(g for g in asked.groups() if g))).lower()):
        # Who is asked: the name just before the request ("Nice, go for it, Raj, please ..." asks Raj;
        # "Dmitri and Gwen, would you ...") or closing it ("..., Raj?").
        before = [part for part in re.split(r"[,;:]", sentence[: asked.start()]) if part.strip()]
        vocative = (before[-1] if before else "") + " " + " ".join(re.findall(r",\s*([A-Z][a-z]+)\W*$", sentence))
        return _clause(task), _addressed(vocative, people)
    if sentence.rstrip().endswith("?") and (who := _WHO.search(sentence)) and who.group(1).lower() in _WHO_VERBS:
        task = _clause(f"{_base(who.group(1))} {who.group(2)}")
        return (task, None) if len(content_stems(task)) >= 2 else None
    if someone := _SOMEONE.search(sentence):
        return _clause(someone.group(1) or someone.group(2)), None
    promises = [
        p
        for m in _PROMISE.finditer(sentence)
        if (m.group(1) or answering) and not _NOT_A_PROMISE.match(p := m.group(1) or m.group(2))
    ]
    promises = [p for p in (_clause(p) for p in promises) if len(content_stems(p)) >= 2 or _DUE.search(p)]
    if promises:
        return max(promises, key=lambda p: len(content_stems(p))), _SPEAKER
    return None


_WHO_VERBS = frozenset(
    [
        *("update", "updates", "own", "owns", "take", "takes", "write", "writes", "send", "sends", "fix", "fixes"),
        *("handle", "handles", "do", "does", "check", "checks", "book", "books", "call", "calls", "prepare"),
        *("prepares", "lead", "leads", "run", "runs", "review", "reviews", "organise", "organises", "organize"),
        *("organizes", "ask", "asks", "tell", "tells", "contact", "contacts", "order", "orders", "bring", "brings"),
    ]
)


def _base(verb: str) -> str:
    """ "updates" -> "update", "fixes" -> "fix": the verb a task starts with."""
    verb = verb.lower()
    if verb.endswith(("ches", "shes", "xes", "sses")):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


# Verbs that drop an "e" before "-ing" ("would you mind taking ..."), among those tasks start with.
_E_VERBS = frozenset(
    re.findall(
        r"\w+",
        """make take write share prepare update circulate provide organise organize arrange chase place create move
    remove change close invite hire use give have leave drive manage schedule phone receive note price compile
    type save replace raise produce reserve serve solve shave argue issue continue rule measure figure finalise
    finalize prioritise prioritize complete delete involve decline describe double merge purchase reduce
    revise rewrite trace translate tune upgrade welcome""",
    )
)


_IRREGULAR_ING = {"seeing": "see", "lying": "lie"}


def _base_form(task: str) -> str:
    """ "mind ringing the supermarket" -> "ring the supermarket": what "would you mind ..." asks for."""
    if not task.lower().startswith("mind "):
        return task
    verb, _, rest = task[5:].partition(" ")
    if not verb.endswith("ing") or len(verb) < 5:
        return task[5:]
    stem = verb[:-3]
    if verb in _IRREGULAR_ING:
        stem = _IRREGULAR_ING[verb]
    elif len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        stem = stem[:-1]  # "putting" -> "put"
    elif stem + "e" in _E_VERBS:
        stem += "e"
    return f"{stem} {rest}".strip()


# Stands for "the speaker" until the line's speaker is known.
_SPEAKER = "\0speaker"


def _addressed(sentence: str, people: Sequence[str]) -> str | None:
    """Who a request names ("Dmitri and Gwen, would you ..." -> "Dmitri and Gwen"), or None."""
    words = set(plain_words(sentence).split())
    named = [p for p in people if set(plain_words(p).split()) <= words]
    return " and ".join(named) or None


def _person(word: str, people: Sequence[str]) -> str | None:
    key = word.lower()
    return next((p for p in people if key in plain_words(p).split()), None)


def _due(text: str) -> str | None:
    found = _DUE.search(text)
    return found.group().strip() if found else None


def _without_due(task: str) -> str:
    return _DUE_AT_END.sub("", task).strip(" ,.")


def _decision_in(sentences: list[str], index: int, tasks: list[tuple[str, str | None] | None]) -> str | None:
    """What sentences[index] settles, with the sentence after a short one ("Keep them. Five thousand for
    meetups.") unless that one is a task or a question, or None."""
    sentence = sentences[index]
    plain = plain_words(sentence)
    if not settles(sentence) or _BARE.match(plain) or _STORY.search(plain) or _ABOUT_THE_MEETING.search(plain):
        return None
    if _PREDICTION.search(plain) or _PROMISE.search(sentence.replace("’", "'")):
        return None  # a forecast, or somebody's own promise beside the agreement ("Will do, I will ...")
    accepted = index > 0 and bool(_BARE.match(plain_words(sentences[index - 1])))
    future = re.search(r"\bwe (will|'ll|are going to)\b", plain)
    if _PRESENT_WE.search(plain) and not (future or _NEW.search(plain) or accepted):
        return None  # "we try hard to fix the causes": a habit, not a decision
    text = sentence
    following = index + 1
    short = len(plain.split()) <= SHORT_WORDS and not _CHOSEN.search(plain)
    after = sentences[following] if following < len(sentences) else ""
    # "Keep them. Five thousand for meetups." — but not a task, a question or the next item of the agenda.
    if short and after and tasks[following] is None and "?" not in after and not _NEXT_ITEM.match(after):
        text = f"{sentence} {after}"
    lead = _AGREE_LEAD.match(text)
    rest = (text[lead.end() :] if lead else text).strip()
    sums_up = bool(lead and _SUMS_UP.search(lead.group()))
    if rest != text.strip() and not sums_up and not settles(rest) and _COPULA.search(plain_words(rest)):
        return None  # "Agreed, the load test is the gap": agreeing with an opinion or a fact
    rest = re.split(r",\s(?:but|although|though|unless)\b", _LEAD.sub("", rest))[0].strip(" ,.")
    # "Ha, fair point, okay, let's go with the cricket club": what was settled starts at "let's".
    if (lets := re.search(r",\s+(?=(?:let's|let us)\b)", rest, re.IGNORECASE)) and not _BARE.match(
        plain_words(rest[lets.end() :])
    ):
        rest = rest[lets.end() :]
    if _BARE.match(plain_words(rest)):
        return None  # "No objection, but two seconds is ambitious."
    said = content_stems(re.sub(r"\b(let's|let us|do|it|that|this|properly|then|now)\b", "", rest.lower()))
    if len(said) < (1 if rest.lower().startswith("no ") or _CHOSEN.search(rest) else 2):
        return None  # "Then let's do it properly.", "We will win."
    return rest[:1].upper() + rest[1:]


def find_outcomes(
    lines: Sequence[tuple[str, str]], people: Iterable[str], unnamed: Iterable[str] = (), known: Iterable[str] = ()
) -> list[Outcome]:
    """The decisions and action items of a meeting's lines (speaker, text), in the order they were said.

    `people`: everyone who may own a task, `known` among them those known to take part (the speakers'
    names, the participants given).
    `unnamed`: the labels of voices nobody named ("Speaker 2"). A voice that took on a task asked of a
    name ("Evan, can you send the plan?" — "I will send it on Thursday") owns its other tasks under
    that name too, when it answered to no other name."""
    names = [p for p in dict.fromkeys(people) if p]
    # Who a bare imperative can be said to ("Raj, update the rota"): the people known to be there (the
    # speakers, `known`), or a name the meeting says more than once; not any capitalized word before a
    # comma ("Hard, fair point").
    capitalized = Counter(w for _, text in lines for w in re.findall(r"\b[A-Z][a-z]+\b", text))
    there = {*known, *(speaker for speaker, _ in lines)}
    addressable = [p for p in names if p in there or capitalized[p.split()[0]] > 1]
    found: list[Outcome] = []
    taken: set[int] = set()  # answers already read with the task before them
    answered_as: dict[str, set[str]] = {label: set() for label in unnamed}
    for index, (speaker, text) in enumerate(lines):
        sentences = _sentences(text)
        following = lines[index + 1] if index + 1 < len(lines) else None
        sentences = [_will_misheard(sentences, n, speaker, following, names) for n in range(len(sentences))]
        sentences = [_imperative_asked(sentence, speaker, following, addressable) for sentence in sentences]
        sentences = _minuted(sentences, names)
        sentences = [_asked_of_named(sentences, n, names) for n in range(len(sentences))]
        # "Sure. I can take it." answers as "Sure, I can take it." does.
        opening = [all(_BARE.match(plain_words(s)) for s in sentences[:n]) for n in range(len(sentences))]
        tasks = [_task_in(sentence, names, opening[n]) for n, sentence in enumerate(sentences)]
        for number, sentence in enumerate(sentences):
            if task := tasks[number]:
                if index in taken and task[1] == _SPEAKER:
                    continue  # "I will send it on Thursday" answering the request before it
                outcome = _task(lines, index, sentence, task, taken, answered_as)
                if outcome.due is None:
                    outcome = replace(outcome, due=_due_said_after(sentences, tasks, number))
                for owner in outcome.owner.split(" and ") if outcome.owner else [None]:
                    one = replace(outcome, owner=owner)
                    if not _same_task_again(found, one):
                        found.append(one)
            elif decision := _decision_in(sentences, number, tasks):
                found.append(Outcome("decision", decision, None, None, index, f"{speaker}: {sentence}"))
        proposer, proposal = lines[index - 1] if index else (speaker, "")
        # "Should we move it to May?" — "Yes, let's do that.": the proposal is what was decided.
        carried = bool(_CARRIED.search(plain_words(text)))
        if proposer != speaker and (_assents(sentences) or carried) and (proposed := proposes(proposal)):
            evidence = f"{proposer}: {proposal}\n{speaker}: {text}"
            found.append(Outcome("decision", proposed, None, None, index, evidence))
        elif chosen := _choice_made(lines, index, sentences):
            evidence = "\n".join(f"{who}: {said}" for who, said in lines[index - 1 : index + 2])
            found.append(Outcome("decision", chosen, None, None, index, evidence))
    heard = {label: next(iter(asked)) for label, asked in answered_as.items() if len(asked) == 1}
    if len(set(heard.values())) < len(heard):
        heard = {}  # two voices answered to one name: neither is known by it
    return _merged([replace(o, owner=heard.get(o.owner, o.owner)) if o.owner else o for o in found])


# The recognizer runs a decision and the next item of the agenda into one sentence: "So we are agreed, the
# app launches on the twelfth of May, now support, Priya, how is the queue?"
_NEXT_ITEM_INSIDE = re.compile(r",\s+(?=(?:now|next|moving on|last item|last thing|anyway)\b)", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    return [part for sentence in split_sentences(text) for part in _NEXT_ITEM_INSIDE.split(sentence) if part]


# Minutes dictated aloud: "Action for Priya, then. Write the checkout tests ..."; "Action item for Tom: send it."
_ACTION_FOR = re.compile(
    r"^(?:(?:so|okay|ok|right|and|then),?\s+)*(?:an? )?action(?: item)?s?,? (?:for|on) ([A-Z][a-z]+)\b[,:.]?\s*"
    r"(?:(?:then|now|please)\b[,.]?\s*)?",
    re.IGNORECASE,
)


def _minuted(sentences: list[str], people: Sequence[str]) -> list[str]:
    """The turn's sentences with "Action for NAME: VERB ..." (or VERB in the next sentence) read as "NAME
    to VERB ..." """
    out = list(sentences)
    for n, sentence in enumerate(out):
        said = _ACTION_FOR.match(sentence)
        if not said or not (person := _person(said.group(1), people)):
            continue
        rest = sentence[said.end() :].strip()
        if len(rest.split()) > 1:  # "Action for Priya, then." or a word misheard in its place
            out[n] = f"{person} to {rest[:1].lower()}{rest[1:]}"
        elif n + 1 < len(out) and out[n + 1][:1].isupper():
            out[n], out[n + 1] = "", f"{person} to {out[n + 1][:1].lower()}{out[n + 1][1:]}"
    return [sentence for sentence in out if sentence]


_NAME_OPENS = re.compile(r"^(?:(?:so|okay|ok|right|then|and|now),?\s+)*([A-Z][a-z]+),\s", re.IGNORECASE)


def _asked_of_named(sentences: list[str], n: int, people: Sequence[str]) -> str:
    """sentences[n], a request naming nobody, said to the name that opened the sentence before it: "Gareth,
    you're on the refunds. Please send finance the list." """
    sentence = sentences[n]
    if n == 0 or not _REQUEST.search(sentence) or _addressed(sentence, people):
        return sentence
    opened = _NAME_OPENS.match(sentences[n - 1])
    if not opened or not (person := _person(opened.group(1), people)):
        return sentence
    return f"{person}, {sentence[:1].lower()}{sentence[1:]}"


# "Priya will fix ..." as the recognizer often writes it: "Priya, we'll fix ...".
_NAME_WE_WILL = re.compile(r"^([A-Z][a-z]+), we'll ([a-z].*)")
_HE_OR_SHE = re.compile(r"^(?:and |but |so )?(?:he|she|they)(?:'s|'ll| is| has| will| already| thinks| said)\b", re.I)


def _will_misheard(
    sentences: list[str], n: int, speaker: str, following: tuple[str, str] | None, people: Sequence[str]
) -> str:
    """sentences[n], with "Priya, we'll fix the bug" read as "Priya will fix the bug" where the meeting
    shows it was said of Priya: the speaker goes on about her ("She already found the slow query") or
    another voice takes it on ("I will fix it tonight"). Said to Priya, it would go on with "you"."""
    sentence = sentences[n].replace("’", "'")
    said = _NAME_WE_WILL.match(sentence)
    if not said or not _person(said.group(1), people):
        return sentences[n]
    about = n + 1 < len(sentences) and bool(_HE_OR_SHE.match(sentences[n + 1]))
    taken = _answered_yes(speaker, following)
    return f"{said.group(1)} will {said.group(2)}" if about or taken else sentences[n]


def _answered_yes(speaker: str, following: tuple[str, str] | None) -> bool:
    """Whether the next line is another voice saying yes or promising ("Will do, I will update it")."""
    if following is None or following[0] == speaker:
        return False
    return _says_yes(following[1])


def _says_yes(answer: str) -> bool:
    task = _task_in(answer, [])
    return bool(_ACCEPTS.match(plain_words(answer))) or (task is not None and task[1] == _SPEAKER)


# An answer about the task just set opens by pointing back at it: "Yes, that has to happen ...".
_REFERS_BACK = re.compile(r"^(?:(?:yes|yeah|sure|ok|okay|right|well|and|but),?\s+)*(?:that|it|this)\b", re.IGNORECASE)
_BACK = re.compile(r"\b(it|them|that|this|he|she|they)\b", re.IGNORECASE)


def _due_said_after(sentences: list[str], tasks: list[tuple[str, str | None] | None], number: int) -> str | None:
    """The date the next sentences of the turn give the task of sentences[number], while they speak of it
    or its owner: "Priya will fix the export bug. She found the slow query. She thinks it can be done by
    Thursday." """
    for after, task in list(zip(sentences, tasks, strict=True))[number + 1 : number + 3]:
        if task is not None or not _BACK.search(after):
            return None
        if due := _deadline(after):
            return due
    return None


# "... can be done by Thursday", "that has to happen before March": a date the work is due, not a date
# something happened ("She was on the call with the customer on Sunday").
_TO_BE_DONE = re.compile(
    r"\b(will|'ll|can|could|should|would|must|has to|have to|need to|needs to|going to|be done|be ready)\b",
    re.IGNORECASE,
)


def _deadline(sentence: str) -> str | None:
    due = _due(sentence)
    if due and (_TO_BE_DONE.search(sentence) or re.match(r"(by|before|until)\b", due, re.IGNORECASE)):
        return due
    return None


# "Do we refund them, or just send an apology?" — "We refund the difference.": one of two ways chosen.
_CHOICE = re.compile(r"\bor\b[^?]*\?\s*$")


def _choice_made(lines: Sequence[tuple[str, str]], index: int, sentences: list[str]) -> str | None:
    """What a line answering a question of two ways chose, where it states the choice and settles it: as
    "we VERB ..." with a verb of the question, or accepted by the next voice ("Proper cards, or a group
    message?" — "Cards for the older relatives, a message for everyone else." — "Sounds good.")."""
    if not index or not sentences or "?" in sentences[0]:
        return None
    (asker, question), (speaker, _) = lines[index - 1], lines[index]
    if asker == speaker or not _CHOICE.search(question):
        return None
    chose = sentences[0]
    plain = plain_words(chose)
    if _TENTATIVE_CHOICE.match(plain) or not set(content_stems(chose)) & set(content_stems(question)):
        return None
    asked = set(plain_words(question).split())
    said = re.match(r"(?:(?:so|then|ok|okay|fine|right|well) )*we ([a-z]+)\b", plain)
    following = lines[index + 1] if index + 1 < len(lines) else None
    accepted = following is not None and following[0] != speaker and _assents(_sentences(following[1]))
    if not (said and said.group(1) in asked) and not accepted:
        return None
    # The ways it chose, without the reasons: "Cards for the older relatives; a message for everyone else".
    about = set(content_stems(question))
    ways = [_LEAD.sub("", _clause(s)).strip(" ,.") for s in sentences[:3] if set(content_stems(s)) & about]
    ways = [w for w in ways if len(content_stems(w)) >= 2]  # not "Gareth" of "Gareth, you're on the refunds"
    chose = "; ".join(re.sub(r"^(A|An|The) ", lambda m: m.group().lower(), w) if n else w for n, w in enumerate(ways))
    return chose[:1].upper() + chose[1:] if len(content_stems(chose)) >= 2 else None


# Answers that weigh the choice rather than make it.
_TENTATIVE_CHOICE = re.compile(
    r"^(honestly |well |hmm |um )?(i think|i guess|i'd|i would|maybe|perhaps|probably|i don't know|not sure|"
    r"it depends|depends|either|both|no idea|good question)\b"
)


# A motion put to the vote: "All in favour? Carried."
_CARRIED = re.compile(r"\b(carried|carries|unanimous|unanimously|motion passes)\b")


def _assents(sentences: list[str]) -> bool:
    """Whether a turn opens by agreeing and takes nothing back ("Sounds good. I will book it." — not
    "Yes. But not in May.")."""
    said = [plain_words(s) for s in sentences]
    return bool(said) and bool(_BARE.match(said[0])) and not any(_BUT.match(s) for s in said[1:])


# "Raj, update the rota ...": a name, then a verb. The words that follow a name without being a verb:
_NOT_A_VERB = frozenset(
    re.findall(
        r"[\w']+",
        """i you we they he she it this that there the a an what how where when why who which is are was were do
    does did can could would will should have has had thanks thank good great nice well yes no ok okay sorry
    hi hello welcome please let's let any your my our just so and but now also over here too""",
    )
)
_NAME_THEN = re.compile(r"^(?:(?:so|okay|ok|right|then|and|now|good|fine),?\s+)*([A-Z][a-z]+),\s+([a-z]+)\b")


def _imperative_asked(sentence: str, speaker: str, following: tuple[str, str] | None, people: Sequence[str]) -> str:
    """ "Raj, update the rota so Sofia is off weekends." read as "Raj, please update ..." where another voice
    takes it on ("Will do, I will update it today"); without that answer a name and a word ("Tom, nice
    work") ask for nothing."""
    said = _NAME_THEN.match(sentence.replace("’", "'"))
    if not said or said.group(2) in _NOT_A_VERB or sentence.rstrip().endswith("?") or _REQUEST.search(sentence):
        return sentence
    if not _person(said.group(1), people):
        return sentence
    if not _answered_yes(speaker, following):
        return sentence
    return f"{sentence[: said.start(2)]}please {sentence[said.start(2) :]}"


def _same_task_again(found: list[Outcome], outcome: Outcome) -> bool:
    """Whether `outcome` speaks of the last task of its owner, said in the same or the line before
    ("I will add an alert. I can have it in place by Friday."); that task takes its due date."""
    last = next((i for i in range(len(found) - 1, -1, -1) if found[i].kind == "task"), None)
    if last is None or not _SAME_THING.search(outcome.text):
        return False
    before = found[last]
    if before.owner != outcome.owner or outcome.line - before.line > 1:
        return False
    if before.due is None and outcome.due is not None:
        found[last] = replace(before, due=outcome.due)
    return True


def _task(
    lines: Sequence[tuple[str, str]],
    index: int,
    sentence: str,
    task: tuple[str, str | None],
    taken: set[int],
    answered_as: dict[str, set[str]],
) -> Outcome:
    speaker = lines[index][0]
    text, owner = task
    owner = speaker if owner == _SPEAKER else owner
    evidence = f"{speaker}: {sentence}"
    due = _due(text)
    asked = bool(_REQUEST.search(sentence))
    if (asked or owner != speaker) and index + 1 < len(lines) and lines[index + 1][0] != speaker:
        answerer, answer = lines[index + 1]
        answer_task = _task_in(answer, [])
        takes_it = _says_yes(answer)
        if owner is None and not asked:
            takes_it = bool(_TAKES_ON.match(plain_words(answer)))
        # "Carl will pull the numbers." — "I will pull them ...": a voice nobody named answering for Carl.
        for_them = bool(owner) and answerer in answered_as and bool(_SAME_THING.search(answer))
        if takes_it and (asked or for_them or owner in (None, answerer)) and " and " not in (owner or ""):
            # "Evan, can you send it by Friday?" — "I will send it on Thursday.": Evan's, due Thursday.
            taken.add(index + 1)
            evidence += f"\n{answerer}: {answer}"
            # The name asked wins over the answering voice, which diarization may have left unnamed
            # ("Speaker 2").
            if (asked or for_them) and owner and answerer in answered_as:
                answered_as[answerer].add(owner)
            owner = owner if (asked or for_them) and owner else answerer
            due = _due(answer) or due
        elif due is None and answer_task is None and _REFERS_BACK.match(answer) and (said := _deadline(answer)):
            # "Someone needs to tell the agency." — "Yes, that has to happen before the end of March."
            due = said
            evidence += f"\n{answerer}: {answer}"
    text = _without_due(text) or text
    return Outcome("task", text[:1].upper() + text[1:], owner, due, index, evidence)


def _merged(found: list[Outcome]) -> list[Outcome]:
    """One outcome per thing: a task said twice ("Carl will pull the numbers" — "I will pull them from the
    last ninety days") or first without an owner ("somebody has to write the copy" — "Jonas, could you
    write the checklist copy?") is kept once, with its owner; a decision repeated is kept once."""
    kept: list[tuple[Outcome, set[str]]] = []
    for outcome in found:
        words = set(content_stems(outcome.text))
        twin = next((i for i, (k, stems) in enumerate(kept) if _twins(k, stems, outcome, words)), None)
        if twin is None:
            kept.append((outcome, words))
        elif kept[twin][0].owner is None and outcome.owner is not None:
            kept[twin] = (outcome, words)
    return [outcome for outcome, _ in kept]


def _twins(kept: Outcome, kept_words: set[str], outcome: Outcome, words: set[str]) -> bool:
    if kept.kind != outcome.kind:
        return False
    # One word in common does not make two tasks one ("do one interview a week", "check the farmhouse in
    # the second week of October"; "bring them down" after "bring the supermarket the list"), two wordings
    # of one decision often share only that word.
    if outcome.kind == "task" and len(words & kept_words) < 2:
        return False
    overlap = _overlap(words, kept_words)
    owners_agree = kept.owner == outcome.owner or None in (kept.owner, outcome.owner) or outcome.kind == "decision"
    # Or one sentence heard from two voices: diarization split a turn.
    return (owners_agree and overlap >= SAME_TASK) or (outcome.line - kept.line == 1 and overlap >= 0.8)


def _overlap(a: set[str], b: set[str]) -> float:
    """Shared content words over the shorter text's."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
