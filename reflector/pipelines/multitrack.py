"""The multitrack pipeline: one recording per participant -> words carrying each participant's name.

The platform already knows who spoke when, so nothing is diarized. Its steps have the file pipeline's
names, outputs and checkpoints, so whatever writes a file run's steps writes a multitrack run's unchanged:

  decode      every audio track decoded onto the meeting's timeline; the mixdown (all tracks summed and
              normalised) is the `DecodedAudio`: duration, waveform, and the mp3 a player streams.
  transcribe  each audio track transcribed alone (cross-talk silenced), its words shifted by the track's
              offset; the words' `speaker` is the index of their track (a participant may have two).
  assemble    cross-talk removed, each word given its participant's speaker number, all merged by time.
  topics, summarize   the file pipeline's own steps, on the assembled words.

A run of a Daily raw-tracks recording: `tracks.daily_tracks(keys, names, path_of)` (the recording's object
keys, Daily's meeting participants by id, where each key was downloaded), then this pipeline with the
checkpoints, observer and gate a file run gets; `participants` are the transcript's participants (speaker
number, platform id, name) and `result()` the `MeetingResult` with their names.

Screen-share audio is transcribed as its participant's words (a video or a call played through a share is
part of what the meeting heard, and the sharer is who played it), and skipped when it is silent.

Cross-talk: a voice leaks into other participants' microphones at a lower level, and Whisper transcribes
the leak too. Where another track carries at least LEAK_DB more energy, what a track hears is that other
microphone's voice: those frames are silenced before the track is transcribed, and a word that still lands
there (Whisper's word times are loose) is dropped. WebRTC's gain control brings each speaker's own voice to
a similar level, so levels compare across tracks; two people talking at once each keep their words.
Measured on the test's stand-up (tests/integration/test_multitrack.py, 36 s, 3 participants, tiny.en)
with Alice's voice leaked into Bob's track (words under another speaker's name / duplicated words):
  leak     no removal   text de-dup   word energy only   silenced before ASR + word energy
  -20 dB   16 / 13      12 / 0        0 / 0              0 / 0
  -10 dB   28 / 26      19 / 0        0 / 0              0 / 0
Word energy alone lost three of Bob's words that Whisper timed inside the leak; with the leak silenced the
words match the no-leak run's but for Whisper's own variation (92 words against 93).
De-duplicating identical text leaves every leaked word Whisper heard differently under the wrong name.
"""

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
import numpy as np
import structlog

from reflector.pipelines.audio import BLOCK, SAMPLE_RATE, encode_mp3, into_file, paged_out, waveform
from reflector.pipelines.meeting import (
    STEPS,
    Checkpoints,
    DecodedAudio,
    Gate,
    MeetingPipeline,
    Models,
    PipelineOptions,
    StepObserver,
    StepOutputs,
    build_result,
    no_gate,
)
from reflector.pipelines.tracks import AUDIO_KINDS, Track, decode_track, mixdown, timeline_length
from reflector.pipelines.types import MeetingResult, ProgressFn, Transcription, Word, speaker_label

log = structlog.get_logger(__name__)

FRAME_S = 0.05  # energy is compared in frames this long
LEAK_DB = 10.0  # another track this much louder over a word: the word is that track's voice leaking in
WORD_PAD_S = 0.1  # Whisper's word edges are loose; the energy is taken a little beyond them
SILENT_DBFS = -50.0  # a track whose loudest sample stays below this is not transcribed


class Participant(msgspec.Struct, frozen=True):
    speaker: int
    participant_id: str
    name: str


def participants_of(tracks: Sequence[Track]) -> list[Participant]:
    """Speakers numbered 0.. in the order participants' first audio track starts (who joined first)."""
    first: dict[str, float] = {}
    names: dict[str, str] = {}
    for track in tracks:
        if track.kind in AUDIO_KINDS:
            first[track.participant_id] = min(first.get(track.participant_id, math.inf), track.offset_s)
            names[track.participant_id] = names.get(track.participant_id) or track.participant_name
    ordered = sorted(first, key=lambda pid: (first[pid], pid))
    return [Participant(i, pid, names[pid] or speaker_label(i)) for i, pid in enumerate(ordered)]


def power_envelope(samples: np.ndarray, offset_s: float = 0.0, length: int | None = None) -> np.ndarray:
    """Mean power of each FRAME_S frame of a timeline of `length` samples (the track's own length by
    default) where `samples` start at `offset_s`: a track's frames on the meeting's timeline, read a block of
    frames at a time rather than copied onto a timeline as long as the meeting."""
    frame = round(FRAME_S * SAMPLE_RATE)
    length = len(samples) if length is None else length
    power = np.zeros(math.ceil(length / frame))
    start = min(round(offset_s * SAMPLE_RATE), length)
    end = start + min(len(samples), length - start)  # where the track stops on the timeline
    block = BLOCK  # a whole number of frames
    at = start
    while at < end:
        first = at // frame  # the frame `at` falls in; blocks end on frame boundaries of the timeline
        upto = min((first * frame // block + 1) * block, end)
        padded = np.zeros(math.ceil((upto - first * frame) / frame) * frame, dtype=np.float32)
        padded[at - first * frame : upto - first * frame] = samples[at - start : upto - start]
        frames = padded.reshape(-1, frame)
        power[first : first + len(frames)] = np.einsum("ij,ij->i", frames, frames).astype(np.float64) / frame
        at = upto
    return power


def _stacked(envelopes: Sequence[np.ndarray]) -> np.ndarray:
    power = np.zeros((len(envelopes), max((len(e) for e in envelopes), default=0)))
    for i, envelope in enumerate(envelopes):
        power[i, : len(envelope)] = envelope
    return power


def leaking_frames(envelopes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For each track, its frames where another track is LEAK_DB louder: what it hears there is leakage."""
    power = _stacked(envelopes)
    if len(envelopes) < 2:
        return [np.zeros(power.shape[1], dtype=bool) for _ in envelopes]
    ratio = 10 ** (LEAK_DB / 10)
    return [np.delete(power, i, axis=0).max(axis=0) > power[i] * ratio for i in range(len(envelopes))]


def without_leaks(samples: np.ndarray, offset_s: float, leaking: np.ndarray) -> np.ndarray:
    """A track (from its own start) with its leaking frames (on the meeting's timeline) silenced; written to
    a file a block at a time (`audio.into_file`) rather than copied whole."""
    frame = round(FRAME_S * SAMPLE_RATE)
    start = round(offset_s * SAMPLE_RATE)

    def blocks() -> Iterator[np.ndarray]:
        for at in range(0, len(samples), BLOCK):
            block = np.array(samples[at : at + BLOCK])
            frames = (np.arange(at, at + len(block)) + start) // frame
            heard = frames < len(leaking)
            mute = np.zeros(len(block), dtype=bool)
            mute[heard] = leaking[frames[heard]]
            block[mute] = 0.0
            yield block

    return into_file(blocks())


def remove_cross_talk(words: list[Word], envelopes: Sequence[np.ndarray]) -> list[Word]:
    """The words (speaker = track index) not louder on another track by LEAK_DB over their span."""
    if len(envelopes) < 2 or not words:
        return words
    power = _stacked(envelopes)
    ratio = 10 ** (LEAK_DB / 10)
    kept = []
    for word in words:
        lo = max(0, math.floor((word.start - WORD_PAD_S) / FRAME_S))
        hi = max(lo + 1, math.ceil((word.end + WORD_PAD_S) / FRAME_S))
        level = power[:, lo:hi].mean(axis=1)
        others = np.delete(level, word.speaker)
        if others.max() > level[word.speaker] * ratio:
            continue
        kept.append(word)
    log.info("multitrack.cross_talk", words=len(words), dropped=len(words) - len(kept))
    return kept


def is_silent(samples: np.ndarray) -> bool:
    # A block at a time: abs() of a whole track would copy it.
    loudest = max((float(np.abs(samples[at : at + BLOCK]).max()) for at in range(0, len(samples), BLOCK)), default=0.0)
    return loudest < 10 ** (SILENT_DBFS / 20)


class MultitrackPipeline(MeetingPipeline):
    """A recording made of per-participant tracks; video tracks are left out."""

    def __init__(
        self,
        tracks: Sequence[Track],
        models: Models,
        options: PipelineOptions,
        checkpoints: Checkpoints,
        observer: StepObserver,
        gate: Gate = no_gate,
        playback_dir: Path | None = None,
    ) -> None:
        self.tracks = [t for t in tracks if t.kind in AUDIO_KINDS]
        self.participants = participants_of(self.tracks)
        super().__init__(models, options, checkpoints, observer, gate, self.names, playback_dir)
        number = {p.participant_id: p.speaker for p in self.participants}
        self._speaker_of_track = [number[t.participant_id] for t in self.tracks]
        self._samples: list[np.ndarray] = []  # each track from its own start
        self._envelopes: list[np.ndarray] = []  # each track's power on the meeting's timeline

    @property
    def names(self) -> dict[int, str]:
        return {p.speaker: p.name for p in self.participants}

    async def run(self, source: Path | None = None, steps: Sequence[str] = STEPS) -> StepOutputs:
        """Run `steps` (skipping those with a checkpoint). `source` is unused: the tracks are the source."""
        return await super().run(source, steps)

    async def _speech_of(self, source: Path | None) -> None:
        await self._tracks_speech()

    def result(self) -> MeetingResult:
        return build_result(self.outputs, self._options.language or "en", self.names)

    async def _tracks_speech(self) -> None:
        duration = await self._load("decode")
        transcription = await self._load("transcribe")
        words = await self._load("assemble")
        if duration is None or transcription is None or words is None:
            decoded: DecodedAudio = await self._step("decode", lambda _p: self._decode_tracks())
            duration = decoded.duration
        self.outputs.duration = duration
        if transcription is None:
            transcription = await self._step("transcribe", self._transcribe_tracks, kind="speech")
        self.outputs.transcription = transcription
        if words is None:
            words = await self._step("assemble", lambda _p: self._assemble(transcription.words))
        self.outputs.words = words

    def _decode_tracks(self) -> DecodedAudio:
        self._samples = [decode_track(t.path) for t in self.tracks]
        length = timeline_length(self.tracks, self._samples)
        placed = [(samples, track.offset_s) for track, samples in zip(self.tracks, self._samples, strict=True)]
        with contextlib.ExitStack() as reading:  # each track's pages handed back as they are read
            for samples in self._samples:
                reading.enter_context(paged_out(samples))
            self._envelopes = [power_envelope(samples, offset_s, length) for samples, offset_s in placed]
            mix = mixdown(placed, length)
        mp3 = None
        if self._playback_dir is not None and len(mix):
            mp3 = encode_mp3(mix, self._playback_dir / "audio.mp3")
        log.info("multitrack.decoded", tracks=len(self.tracks), seconds=round(length / SAMPLE_RATE, 3))
        return DecodedAudio(mix, length / SAMPLE_RATE, waveform(mix), mp3)

    def _transcribe_tracks(self, progress: ProgressFn) -> Transcription:
        total = sum(len(s) for s in self._samples) or 1
        done = 0
        language = None
        words: list[Word] = []
        leaking = leaking_frames(self._envelopes)
        for index, (track, own) in enumerate(zip(self.tracks, self._samples, strict=True)):
            with paged_out(own):
                samples = without_leaks(own, track.offset_s, leaking[index])
            with paged_out(samples):
                if is_silent(samples):
                    log.info("multitrack.silent_track", kind=track.kind, participant=track.participant_id)
                else:
                    heard = self._models.transcriber().transcribe(
                        samples,
                        language=self._options.language,
                        progress=_share(progress, done, len(samples), total),
                        names=self._known_names(),
                    )
                    language = language or heard.language
                    words.extend(_shifted(w, track.offset_s, index) for w in heard.words)
            done += len(samples)
            progress(done / total)
        words.sort(key=lambda w: (w.start, w.speaker))
        return Transcription(language=language or self._options.language or "en", words=words)

    def _assemble(self, words: list[Word]) -> list[Word]:
        kept = remove_cross_talk(words, self._envelopes)
        out = [msgspec.structs.replace(w, speaker=self._speaker_of_track[w.speaker]) for w in kept]
        return sorted(out, key=lambda w: (w.start, w.speaker))


def _shifted(word: Word, offset_s: float, speaker: int) -> Word:
    start, end = round(word.start + offset_s, 3), round(word.end + offset_s, 3)
    return Word(text=word.text, start=start, end=end, speaker=speaker)


def _share(progress: ProgressFn, done: int, size: int, total: int) -> ProgressFn:
    """One track's progress as a share of all tracks'."""
    return lambda fraction: progress((done + fraction * size) / total)
