"""HTMX pages for people: each module one page and its fragments, over the same domain services as /v1."""

from reflector.web.pages.browse import BrowseController
from reflector.web.pages.correct import CorrectPage
from reflector.web.pages.new import NewTranscriptController
from reflector.web.pages.processing import ProcessingController
from reflector.web.pages.record import RecordController
from reflector.web.pages.room import RoomPage
from reflector.web.pages.rooms import RoomsController
from reflector.web.pages.settings import SettingsController
from reflector.web.pages.signin import SignInController
from reflector.web.pages.transcript import TranscriptPage
from reflector.web.pages.transcript_zulip import TranscriptZulipPage
from reflector.web.pages.trash import TrashPage
from reflector.web.pages.users import UsersController
from reflector.web.pages.webhooks import RoomWebhooksPage

PAGES: list = [
    BrowseController,
    TrashPage,
    TranscriptPage,
    TranscriptZulipPage,
    CorrectPage,
    NewTranscriptController,
    ProcessingController,
    RecordController,
    SettingsController,
    UsersController,
    RoomWebhooksPage,
    RoomsController,
    SignInController,
    # Last, and its routes start with a parameter: a room's page, /{room_name}.
    RoomPage,
]
