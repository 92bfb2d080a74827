"""Per-participant recordings: the tracks of one meeting, Daily's raw-track names and LiveKit's track
egress files, each track decoded onto the meeting's timeline, and the mixdown a player streams.

A track's offset is where its first sample sits on the meeting's timeline. For Daily it comes from the
file name (`{recording_start_ms}-{participant_id}-cam-audio-{track_start_ms}`), the documented source;
the WebM stream's own start time differs from it by about 200 ms and is ignored. For LiveKit it comes from
each track egress's `startedAt` (its `egress_ended` webhook), the earliest track starting the timeline; the
file name, as Reflector asks egress to write it (`{publisher_identity}-{track_source}-{track_id}`), says
whose track it is and what it carries.
"""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal

import av
import msgspec
import numpy as np
import structlog

from reflector.pipelines.audio import BLOCK, SAMPLE_RATE, UNREADABLE, into_file, paged_out, silence_in_file
from reflector.pipelines.protocols import AudioError

log = structlog.get_logger(__name__)

TrackKind = Literal["cam-audio", "screen-audio", "video"]
AUDIO_KINDS: tuple[TrackKind, ...] = ("cam-audio", "screen-audio")

# A jump in a track's timestamps longer than this is a gap (a muted microphone sends no packets).
GAP_S = 0.05
MIX_PEAK = 0.9  # the mixdown is scaled so its loudest sample sits here (about -1 dBFS)

# Daily raw tracks, with or without an extension:
# `{domain}/{room}/{recording_start_ms}-{participant uuid}-{cam|screen}-{audio|video}-{track_start_ms}`
DAILY_TRACK = re.compile(
    r"(?:^|/)(?P<recording_ms>\d+)-(?P<participant>[0-9A-Za-z-]+?)-(?P<source>cam|screen)-(?P<media>audio|video)"
    r"-(?P<track_ms>\d+)(?:\.\w+)?$"
)


# LiveKit track egress files as Reflector names them: `{room}/{publisher_identity}-{track_source}-{track_id}`,
# the extension egress adds (.ogg for Opus audio).
LIVEKIT_TRACK = re.compile(
    r"(?:^|/)(?P<identity>[^/]+?)-(?P<source>microphone|screen_share_audio|screen_share|camera|unknown)"
    r"-(?P<track>TR_[0-9A-Za-z]+)(?:\.\w+)?$"
)
LIVEKIT_KINDS: dict[str, TrackKind] = {
    "microphone": "cam-audio",
    "unknown": "cam-audio",
    "screen_share_audio": "screen-audio",
    "screen_share": "video",
    "camera": "video",
}


class Track(msgspec.Struct, frozen=True):
    """One participant's recording, placed on the meeting's timeline."""

    path: str
    participant_id: str
    participant_name: str  # "" when the platform gave none: the speaker's label is used
    offset_s: float  # where the track's first sample sits on the meeting's timeline
    kind: TrackKind = "cam-audio"


class DailyTrackName(msgspec.Struct, frozen=True):
    """What a Daily raw-track key says about its track."""

    key: str
    recording_start_ms: int
    participant_id: str
    kind: TrackKind
    track_start_ms: int

    @property
    def offset_s(self) -> float:
        """Seconds from the recording's start to the track's; a track cannot start before the recording."""
        return max(0, self.track_start_ms - self.recording_start_ms) / 1000


def parse_daily_key(key: str) -> DailyTrackName | None:
    """The parts of a Daily raw-track key; None for other objects in the folder (manifests, composites)."""
    match = DAILY_TRACK.search(key)
    if match is None:
        return None
    kind: TrackKind = "video" if match["media"] == "video" else f"{match['source']}-audio"  # type: ignore[assignment]
    return DailyTrackName(
        key=key,
        recording_start_ms=int(match["recording_ms"]),
        participant_id=match["participant"],
        kind=kind,
        track_start_ms=int(match["track_ms"]),
    )


def daily_tracks(
    keys: Iterable[str], names: Mapping[str, str], path_of: Callable[[str], str | Path] = str
) -> list[Track]:
    """The tracks of a Daily raw-tracks recording: `names` maps participant ids to display names (Daily's
    meeting participants), `path_of` a key to the local file it was downloaded to."""
    tracks = []
    for key in keys:
        name = parse_daily_key(key)
        if name is None:
            log.info("tracks.not_a_track", key=key)
            continue
        tracks.append(
            Track(
                path=str(path_of(key)),
                participant_id=name.participant_id,
                participant_name=names.get(name.participant_id, ""),
                offset_s=name.offset_s,
                kind=name.kind,
            )
        )
    return sorted(tracks, key=lambda t: (t.offset_s, t.participant_id, t.kind))


def livekit_tracks(
    keys: Iterable[str],
    names: Mapping[str, str],
    starts_ms: Mapping[str, int],
    path_of: Callable[[str], str | Path] = str,
) -> list[Track]:
    """The tracks of a LiveKit recording: `names` maps identities to display names, `starts_ms` each key to
    the unix milliseconds its egress started at (the earliest is the timeline's start)."""
    known = [key for key in keys if key in starts_ms]
    first = min((starts_ms[key] for key in known), default=0)
    tracks = []
    for key in known:
        match = LIVEKIT_TRACK.search(key)
        if match is None:
            log.info("tracks.not_a_track", key=key)
            continue
        tracks.append(
            Track(
                path=str(path_of(key)),
                participant_id=match["identity"],
                participant_name=names.get(match["identity"], ""),
                offset_s=(starts_ms[key] - first) / 1000,
                kind=LIVEKIT_KINDS[match["source"]],
            )
        )
    return sorted(tracks, key=lambda t: (t.offset_s, t.participant_id, t.kind))


def decode_track(path: str | Path) -> np.ndarray:
    """A track as 16 kHz mono float32 from its first sample, gaps in its timestamps filled with silence;
    written to an unnamed file as it decodes and read back mapped (`audio.into_file`), so that the tracks of
    a long meeting are never all held in memory.

    Daily sends no packets while a microphone is muted: decoding frame after frame would pull every later
    word earlier by the length of the mute. Each frame goes where its timestamp says instead.
    """
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        log.info("tracks.open_failed", path=str(path), error=str(exc))
        raise AudioError(UNREADABLE) from exc
    with container:
        if not container.streams.audio:
            raise AudioError("This track has no audio, so there is nothing to transcribe.")
        return into_file(_track_blocks(container, container.streams.audio[0], path))


def _track_blocks(
    container: av.container.InputContainer, stream: av.AudioStream, path: str | Path
) -> Iterator[np.ndarray]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    written = 0
    first: float | None = None
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                first = frame.time if first is None else first
                due = round((frame.time - first) * SAMPLE_RATE)
                if due - written > GAP_S * SAMPLE_RATE:
                    yield np.zeros(due - written, dtype=np.float32)
                    written = due
            for out in resampler.resample(frame):
                block = np.clip(out.to_ndarray()[0], -1.0, 1.0)
                written += len(block)
                yield block
    except (av.error.FFmpegError, ValueError) as exc:
        log.warning("tracks.truncated", path=str(path), error=str(exc), decoded_s=written / SAMPLE_RATE)
    for out in resampler.resample(None):
        yield np.clip(out.to_ndarray()[0], -1.0, 1.0)


def timeline_length(tracks: list[Track], decoded: list[np.ndarray]) -> int:
    """Samples from the meeting's start to the end of its last track."""
    return max((round(t.offset_s * SAMPLE_RATE) + len(s) for t, s in zip(tracks, decoded, strict=True)), default=0)


def mixdown(placed: Iterable[tuple[np.ndarray, float]], length: int) -> np.ndarray:
    """Tracks, each (samples, offset in seconds on the timeline), summed onto a timeline of `length` samples
    and scaled so the loudest sample sits at MIX_PEAK. The mix is as long as the meeting: it lives in a file
    (`audio.silence_in_file`) whose pages are handed back as it is written."""
    mix = silence_in_file(length)
    with paged_out(mix):
        peak = 0.0
        for samples, offset_s in placed:
            start = min(round(offset_s * SAMPLE_RATE), length)
            for at in range(0, min(len(samples), length - start), BLOCK):
                piece = samples[at : min(at + BLOCK, length - start)]
                mix[start + at : start + at + len(piece)] += piece
        for at in range(0, length, BLOCK):
            peak = max(peak, float(np.abs(mix[at : at + BLOCK]).max()))
        if peak > 0:
            for at in range(0, length, BLOCK):
                mix[at : at + BLOCK] *= MIX_PEAK / peak
    return mix
