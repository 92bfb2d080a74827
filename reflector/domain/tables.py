"""Every table, for the engine configuration and the test truncation."""

from reflector.domain.pipelines.tables import PipelineRun
from reflector.domain.transcripts.tables import Participant, Topic, Transcript, TranscriptEvent

ALL_TABLES = (Transcript, Topic, Participant, TranscriptEvent, PipelineRun)
