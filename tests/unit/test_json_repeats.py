import msgspec
import pytest

from reflector.pipelines.json_repeats import RepeatWatch

ITEM = '{"quote": "I will remind you, \\"twice\\" [sic].", "owner": "Tom", "task": "Remind Ana", "due": null}'
OTHER = '{"quote": "Kenji, please sign the lease.", "owner": "Kenji", "task": "Sign the lease", "due": "Friday"}'


def cut_repeats(text: str) -> str:
    watch = RepeatWatch()
    repeated = watch.feed(text)
    assert repeated == watch.repeated
    return watch.text()


def test_a_looping_list_is_cut_at_its_last_distinct_element_and_closed() -> None:
    looping = '{"decisions": ["Keep the meetups"], "action_items": [' + ", ".join([OTHER, ITEM, ITEM, ITEM]) + "]}"
    cut = cut_repeats(looping)
    assert msgspec.json.decode(cut) == {
        "decisions": ["Keep the meetups"],
        "action_items": [msgspec.json.decode(OTHER), msgspec.json.decode(ITEM)],
    }


def test_the_watch_stops_as_soon_as_the_copy_is_complete() -> None:
    reply = '{"decisions": [], "action_items": [' + ITEM + ",\n  " + ITEM + ", " + OTHER + "]}"
    watch = RepeatWatch()
    fed = ""
    for n in range(0, len(reply), 3):  # pieces of a few characters, as tokens come
        fed += reply[n : n + 3]
        if watch.feed(reply[n : n + 3]):
            break
    # The second copy ends at the comma after it; nothing of what follows was needed.
    assert len(fed) <= len('{"decisions": [], "action_items": [' + ITEM + ",\n  " + ITEM) + 3
    assert msgspec.json.decode(watch.text()) == {"decisions": [], "action_items": [msgspec.json.decode(ITEM)]}


@pytest.mark.parametrize(
    "reply",
    [
        '{"decisions": ["Ship in May", "Ship in June"], "action_items": []}',
        # Equal fields in different elements, and one string that holds a copy of another's text.
        '{"items": [{"owner": "Tom", "task": "a"}, {"owner": "Tom", "task": "b"}], "x": ["a, b", "a", "b"]}',
        '{"decisions": ["One"], "more": ["One"]}',  # the same text in two arrays is not a loop
        '{"summary": "[1, 1] and {\\"a\\"}"}',
        '{"decisions": ["Ship in May"',  # cut off by the token budget: left for the caller to retry
    ],
)
def test_replies_without_a_repeat_are_left_as_they_are(reply: str) -> None:
    assert cut_repeats(reply) == reply


def test_a_repeat_in_a_nested_list_closes_every_open_container() -> None:
    reply = '{"parts": [{"points": ["a", "b", "a",'
    assert msgspec.json.decode(cut_repeats(reply)) == {"parts": [{"points": ["a", "b"]}]}


def test_layout_does_not_hide_a_repeat() -> None:
    assert msgspec.json.decode(cut_repeats('{"d": ["Keep it",\n    "Keep it" ]}')) == {"d": ["Keep it"]}
