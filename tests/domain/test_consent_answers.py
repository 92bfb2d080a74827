"""A participant's answer found again, so the room's page asks no one twice: a signed-in person by their id,
an anonymous browser by its own id (the cookie its first answer set); the latest answer counts, and a
browser that sends no usable id has none to find."""

from datetime import timedelta

from reflector.bootstrap import Services
from reflector.domain.ids import new_id, now
from reflector.domain.rooms import repository as rooms_table
from reflector.domain.rooms.models import RoomSettings


async def test_answers_are_found_by_person_and_by_browser(clean: Services) -> None:
    room = await clean.rooms.create("alice", RoomSettings(name="review", platform="daily"))
    meeting = await rooms_table.insert_meeting(
        {"room_id": room.id, "platform": "daily", "room_name": "review-1", "end_date": now() + timedelta(hours=1)}
    )
    browser, other_browser = new_id(), new_id()
    assert await clean.meetings.answer_of(meeting.id, None, browser) is None
    assert await clean.meetings.answer_of(meeting.id, "bob", None) is None

    await clean.meetings.consent(meeting.id, None, False, browser)
    await clean.meetings.consent(meeting.id, "bob", True)
    declined = await clean.meetings.answer_of(meeting.id, None, browser)
    assert declined is not None and declined.consent_given is False
    bob = await clean.meetings.answer_of(meeting.id, "bob", None)
    assert bob is not None and bob.consent_given is True
    assert await clean.meetings.answer_of(meeting.id, None, other_browser) is None
    assert await clean.meetings.answer_of(meeting.id, None, "not-an-id") is None

    await clean.meetings.consent(meeting.id, None, True, browser)  # changed their mind: the latest counts
    changed = await clean.meetings.answer_of(meeting.id, None, browser)
    assert changed is not None and changed.consent_given is True
