"""What the hostile-input tests share: a signed-up owner with a transcript to aim at."""

import secrets
from dataclasses import dataclass

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import NewTranscript
from tests.auth.conftest import user_of
from tests.meeting_platform import room_with_meeting
from tests.oidc.process import Provider


@dataclass
class Owner:
    """An administrator who owns the transcript, so every route's handler is reachable with their key."""

    user_id: str
    key: str
    cookie: str
    transcript_id: str
    topic_id: str
    participant_id: str
    key_id: str
    room_id: str
    room_name: str
    meeting_id: str

    @property
    def api(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    @property
    def page(self) -> dict[str, str]:
        return {"Cookie": f"reflector_session={self.cookie}"}


async def owner_of(services: Services, provider: Provider) -> Owner:
    user = await user_of(services, provider, "owner@example.org")
    await services.auth.set_role(user.id, "admin", by="test")
    assert services.sessions is not None
    return Owner(
        user_id=user.id,
        key=(await services.auth.create_key(user.id, "hostile")).key,
        cookie=await services.sessions.start(user.id),
        **await transcript_of(services, user.id),
    )


async def transcript_of(services: Services, owner_id: str) -> dict[str, str]:
    """A transcript with a topic, a named speaker and a spare API key: real rows for every id in a path."""
    created = await services.transcripts.create(NewTranscript(name="Hostile sync", user_id=owner_id))
    words = [{"text": "Hello", "start": 0.0, "end": 0.4, "speaker": 0}]
    topics = await services.transcripts.replace_topics(
        created.id, [{"title": "Hi", "summary": "Hi.", "timestamp": 0.0, "duration": 0.4, "words": words}]
    )
    person = await services.editor.add_participant(created.id, "Ana", 0)
    spare = await services.auth.create_key(owner_id, "spare")
    room, meeting = await room_with_meeting(services, owner_id, f"hostile-{secrets.token_hex(4)}")
    return {
        "room_id": room.id,
        "room_name": room.name,
        "meeting_id": meeting.id,
        "transcript_id": created.id,
        "topic_id": topics[0].id,
        "participant_id": person.id,
        "key_id": spare.view.id,
    }
