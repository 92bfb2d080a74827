"""Every table, for the engine configuration and the test truncation."""

from reflector.domain.auth.tables import ApiKey, User
from reflector.domain.emails.tables import MeetingEmailRequest
from reflector.domain.processing.tables import PipelineRun
from reflector.domain.rooms.tables import CalendarEvent, Meeting, MeetingConsent, PlatformEvent, Recording, Room
from reflector.domain.transcripts.tables import Participant, Topic, Transcript, TranscriptEvent
from reflector.domain.webhooks.tables import WebhookAttempt, WebhookDelivery
from reflector.domain.zulip.tables import ZulipPost

ALL_TABLES = (
    Transcript,
    Topic,
    Participant,
    TranscriptEvent,
    PipelineRun,
    User,
    ApiKey,
    Room,
    Meeting,
    MeetingConsent,
    Recording,
    PlatformEvent,
    CalendarEvent,
    WebhookDelivery,
    WebhookAttempt,
    MeetingEmailRequest,
    ZulipPost,
)
