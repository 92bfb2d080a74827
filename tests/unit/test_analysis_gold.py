"""The gold set of bench/analysis.py agrees with its scripts (format: tests/analysis_gold/README.md)."""

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.analysis_score import _overlap, content_words, read_stm
from tests.paths import MAKE_MEETING

GOLD = Path(__file__).resolve().parents[1] / "analysis_gold"
NAMES = sorted(p.name.removesuffix(".gold.json") for p in GOLD.glob("*.gold.json"))
# Share of an item's task words that must be said within WINDOW turns of where it is set.
TASK_WORDS_SAID = 0.6
WINDOW = 2
# The owner speaks, or is named, in the turn that sets the task or one beside it.
OWNER_WINDOW = 1


def script(name: str) -> tuple[dict[str, tuple[str, int, int]], list[tuple[str, str]]]:
    voices, turns = {}, []
    for line in (GOLD / f"{name}.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@voice"):
            _, who, voice, pitch, speed = line.split()
            voices[who] = (voice, int(pitch), int(speed))
            continue
        who, text = line.split(":", 1)
        turns.append((who.strip(), text.strip()))
    return voices, turns


def gold(name: str) -> dict:
    return json.loads((GOLD / f"{name}.gold.json").read_text())


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def test_the_set_covers_what_the_issue_asks() -> None:
    assert sorted(p.stem for p in GOLD.glob("*.txt")) == NAMES
    assert len(NAMES) >= 8
    golds = [gold(n) for n in NAMES]
    assert sum(g["held_out"] for g in golds) >= 2
    assert {len(g["speakers"]) for g in golds} >= {2, 6}
    assert any(not g["decisions"] and not g["action_items"] for g in golds)
    items = [i for g in golds for i in g["action_items"]]
    assert any(i["owner"] is None for i in items) and any(i["due"] is None for i in items)
    assert any(i.get("blocker") for i in items)
    # The long meeting: about 1,300 words is over ten minutes at the speeds of its voices.
    assert max(sum(len(t.split()) for _, t in script(n)[1]) for n in NAMES) >= 1200


@pytest.mark.parametrize("name", NAMES)
def test_speakers_have_distinct_voices(name: str) -> None:
    voices, turns = script(name)
    g = gold(name)
    assert set(g["speakers"]) == set(voices) == {who for who, _ in turns}
    assert 2 <= len(voices) <= 6
    pitches = sorted(pitch for _, pitch, _ in voices.values())
    assert all(b - a >= 8 for a, b in itertools.pairwise(pitches)), pitches


@pytest.mark.parametrize("name", NAMES)
def test_topics_are_in_range_and_increasing(name: str) -> None:
    _, turns = script(name)
    starts = [t["first_turn_index"] for t in gold(name)["topics"]]
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    assert starts[-1] < len(turns)
    assert 2 <= len(starts) <= 5
    assert all(t["title"].strip() for t in gold(name)["topics"])


@pytest.mark.parametrize("name", NAMES)
def test_owners_are_people_of_the_meeting(name: str) -> None:
    _, turns = script(name)
    g = gold(name)
    said = " ".join(text for _, text in turns)
    for item in g["action_items"]:
        owner = item["owner"]
        if owner is not None:
            assert owner in g["speakers"].values() or re.search(rf"\b{re.escape(owner)}\b", said), owner


@pytest.mark.parametrize("name", NAMES)
def test_due_phrases_are_the_scripts_words(name: str) -> None:
    _, turns = script(name)
    said = _plain(" ".join(text for _, text in turns))
    for item in gold(name)["action_items"]:
        for due in [item["due"], *item.get("due_also", [])]:
            if due is not None:
                assert _plain(due) in said, due


def _mentions(turn: tuple[str, str], owner: str) -> bool:
    who, text = turn
    return who == owner.lower() or re.search(rf"\b{re.escape(owner)}\b", text) is not None


@pytest.mark.parametrize("name", NAMES)
def test_each_task_is_said_near_its_owner(name: str) -> None:
    _, turns = script(name)
    for item in gold(name)["action_items"]:
        task = content_words(item["task"], ignore=[item["owner"] or ""])
        assert task, item
        centers = [item["turn"]] if "turn" in item else range(len(turns))
        best = 0.0
        for center in centers:
            window = turns[max(0, center - WINDOW) : center + WINDOW + 1]
            near = turns[max(0, center - OWNER_WINDOW) : center + OWNER_WINDOW + 1]
            if item["owner"] is not None and not any(_mentions(t, item["owner"]) for t in near):
                continue
            said = content_words(" ".join(text for _, text in window))
            best = max(best, _overlap(task, said) / len(task))
        assert best >= TASK_WORDS_SAID, (item, best)


@pytest.mark.parametrize("name", NAMES)
def test_decisions_are_in_the_meetings_words(name: str) -> None:
    _, turns = script(name)
    said = content_words(" ".join(text for _, text in turns))
    for decision in gold(name)["decisions"]:
        words = content_words(decision)
        assert words and _overlap(words, said) / len(words) >= TASK_WORDS_SAID, decision


def test_a_script_becomes_audio_whose_stm_lines_are_its_turns(tmp_path: Path) -> None:
    """Turn indexes of the gold are .stm lines of the audio the bench makes (the shortest script, to stay quick)."""
    # espeak-ng and sox come with `make test-tools`: missing, this fails and says so.
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    assert not missing, f"{missing} missing: run `make test-tools`"
    name = min(NAMES, key=lambda n: (GOLD / f"{n}.txt").stat().st_size)
    out = tmp_path / name
    subprocess.run(
        [sys.executable, str(MAKE_MEETING), str(GOLD / f"{name}.txt"), "--out", str(out), "--gap", "0.4"],
        check=True,
        capture_output=True,
    )
    _, turns = script(name)
    stm = read_stm(out.with_suffix(".stm").read_text())
    assert [(t.speaker, t.text) for t in stm] == turns
    assert all(a.end <= b.start for a, b in itertools.pairwise(stm))
