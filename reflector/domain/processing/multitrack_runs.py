"""Runs of a per-participant recording (kind "multitrack": Daily raw-tracks, LiveKit track egress): what
such a run is given, the participants it names, and its tracks fetched from the platform's bucket.

A run's input is kept in its options under "tracks" (a `MultitrackSource`): the recording's object keys as
the platform named them and the platform's participant names by participant id. Speakers are numbered as
the pipeline numbers them (`participants_of`: who spoke first is speaker 0), so the transcript's
participants are known, with their names, before the run starts. Only audio tracks are downloaded: video
is never fetched, and deleted from the bucket first when the room does not store video.
"""

import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import structlog

from reflector.adapters.storage import Storage, StorageNotFound
from reflector.domain.processing.models import RunView
from reflector.pipelines.multitrack import Participant, participants_of
from reflector.pipelines.protocols import AudioError
from reflector.pipelines.tracks import (
    AUDIO_KINDS,
    LIVEKIT_KINDS,
    LIVEKIT_TRACK,
    Track,
    daily_tracks,
    livekit_tracks,
    parse_daily_key,
)

log = structlog.get_logger(__name__)

KIND = "multitrack"
# Its speech steps: the file pipeline's but diarize (the platform knows who spoke).
SPEECH_STEPS = ("decode", "transcribe", "assemble")
MISSING = "A track of this recording is no longer in the recordings bucket, so it cannot be processed."


class MultitrackSource(msgspec.Struct, frozen=True):
    """A per-participant recording: its object keys and its participants' names by participant id (Daily's
    participant id, LiveKit's identity)."""

    keys: list[str]
    names: dict[str, str] = {}
    # The recording's folder, whose video tracks are deleted before anything else (a room that does not
    # store video); None: video is kept.
    video_folder: str | None = None
    # LiveKit: when each key's egress started (unix ms), which places it on the timeline; empty: Daily's
    # raw tracks, whose names say it.
    starts_ms: dict[str, int] = {}


def tracks_of(source: MultitrackSource, path_of: Callable[[str], str | Path] = str) -> list[Track]:
    """The recording's tracks, on the meeting's timeline, each at the path `path_of` gives its key."""
    if source.starts_ms:
        return livekit_tracks(source.keys, source.names, source.starts_ms, path_of)
    return daily_tracks(source.keys, source.names, path_of)


def run_inputs(source: MultitrackSource) -> dict[str, Any]:
    """What the run keeps beside its options."""
    return {"tracks": msgspec.to_builtins(source)}


def source_of(run: RunView) -> MultitrackSource:
    return msgspec.convert(run.options["tracks"], MultitrackSource)


def speakers_of(source: MultitrackSource) -> list[Participant]:
    """The recording's participants with the speaker numbers its run gives them."""
    return participants_of(tracks_of(source))


async def drop_video(bucket: Storage, source: MultitrackSource) -> int:
    """Delete the video tracks in the recording's folder when the source says so; how many were deleted."""
    if not source.video_folder:
        return 0
    listed = await bucket.list_keys(source.video_folder.rstrip("/") + "/")
    if source.starts_ms:  # LiveKit: every video egress in the folder, whether it ended or not
        videos = [key for key in listed if (m := LIVEKIT_TRACK.search(key)) and LIVEKIT_KINDS[m["source"]] == "video"]
    else:
        videos = [key for key in listed if (name := parse_daily_key(key)) is not None and name.kind == "video"]
    for key in videos:
        await bucket.delete(key)
    log.info("multitrack.video_deleted", objects=len(videos), folder=source.video_folder)
    return len(videos)


async def fetch_tracks(bucket: Storage, source: MultitrackSource, folder: Path) -> list[Track]:
    """The audio tracks downloaded from `bucket` into `folder`, placed on the meeting's timeline."""
    tracks = [
        t for t in tracks_of(source, lambda k: folder / posixpath.basename(k))
        if t.kind in AUDIO_KINDS
    ]  # fmt: skip
    wanted = {Path(t.path).name for t in tracks}
    for key in source.keys:
        if posixpath.basename(key) in wanted:
            try:
                await bucket.download(key, folder / posixpath.basename(key))
            except StorageNotFound:
                raise AudioError(MISSING) from None
    log.info("multitrack.fetched", tracks=len(tracks), skipped=len(source.keys) - len(tracks))
    return tracks
