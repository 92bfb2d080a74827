"""Per-participant tracks: Daily's raw-track names, offsets on the meeting's timeline, cross-talk, mixdown."""

import mmap

import numpy as np
import pytest

from reflector.pipelines.audio import SAMPLE_RATE
from reflector.pipelines.multitrack import (
    is_silent,
    leaking_frames,
    participants_of,
    power_envelope,
    remove_cross_talk,
    without_leaks,
)
from reflector.pipelines.tracks import Track, daily_tracks, mixdown, parse_daily_key
from reflector.pipelines.types import Word

ALICE = "8f0c2a5e-1b7d-4c3e-9a6f-2d4b8e1c7a90"
BOB = "0b6e9d4c-3a2f-4e1d-8c7b-5a9f1e2d3c4b"


def test_a_cam_audio_key_gives_its_participant_and_offset() -> None:
    name = parse_daily_key(f"acme.daily.co/team-20260601120000/1748779200000-{ALICE}-cam-audio-1748779203250")

    assert name is not None
    assert (name.participant_id, name.kind) == (ALICE, "cam-audio")
    assert name.offset_s == pytest.approx(3.25)


@pytest.mark.parametrize(
    ("middle", "kind"),
    [("cam-audio", "cam-audio"), ("screen-audio", "screen-audio"), ("cam-video", "video"), ("screen-video", "video")],
)
def test_every_kind_of_track_is_recognised_with_or_without_extension(middle: str, kind: str) -> None:
    for suffix in ("", ".webm"):
        name = parse_daily_key(f"room/1000-{BOB}-{middle}-1500{suffix}")
        assert name is not None and name.kind == kind and name.participant_id == BOB


@pytest.mark.parametrize("key", ["room/manifest.json", "room/1000-abc-cam-audio", "room/recording.mp4", ""])
def test_other_objects_are_not_tracks(key: str) -> None:
    assert parse_daily_key(key) is None


def test_a_track_stamped_before_the_recording_starts_at_zero() -> None:
    name = parse_daily_key(f"room/5000-{ALICE}-cam-audio-4800")
    assert name is not None and name.offset_s == 0.0


def test_daily_tracks_carry_names_and_paths_in_timeline_order() -> None:
    keys = [
        f"d/r/1000-{BOB}-cam-audio-13000.webm",
        f"d/r/1000-{ALICE}-cam-audio-1000.webm",
        "d/r/notes.json",
        f"d/r/1000-{ALICE}-screen-audio-21500.webm",
    ]

    tracks = daily_tracks(keys, {ALICE: "Alice"}, path_of=lambda key: f"/tmp/{key.rsplit('/', 1)[1]}")

    assert [(t.participant_name, t.kind, t.offset_s) for t in tracks] == [
        ("Alice", "cam-audio", 0.0),
        ("", "cam-audio", 12.0),
        ("Alice", "screen-audio", 20.5),
    ]
    assert tracks[0].path == f"/tmp/1000-{ALICE}-cam-audio-1000.webm"


def test_participants_are_numbered_by_who_joined_first_and_keep_one_number_for_two_tracks() -> None:
    tracks = [
        Track("b", BOB, "Bob", 4.0),
        Track("a", ALICE, "Alice", 1.0),
        Track("s", ALICE, "Alice", 9.0, "screen-audio"),
        Track("v", "carol", "Carol", 0.0, "video"),
        Track("n", "dan", "", 6.0),
    ]

    participants = participants_of(tracks)

    assert [(p.speaker, p.name) for p in participants] == [(0, "Alice"), (1, "Bob"), (2, "Speaker 3")]


def _placed(samples: np.ndarray, offset_s: float, length: int) -> np.ndarray:
    """The track copied onto the whole timeline: what the mix and the envelope must equal without the copy."""
    out = np.zeros(length, dtype=np.float32)
    start = min(round(offset_s * SAMPLE_RATE), length)
    piece = samples[: length - start]
    out[start : start + len(piece)] = piece
    return out


def test_mixdown_sums_tracks_and_normalises_the_peak() -> None:
    a = np.full(100, 0.8, dtype=np.float32)
    b = np.zeros(100, dtype=np.float32)
    b[50:] = 0.8

    mix = mixdown([(a, 0.0), (b, 0.0)], 100)

    assert float(np.abs(mix).max()) == pytest.approx(0.9)
    assert mix[0] == pytest.approx(0.45)


@pytest.mark.parametrize("offsets", [(0.0, 0.0), (2.5, 0.0), (0.0, 61.0137), (125.3, 3.0)])
def test_tracks_are_mixed_and_measured_at_their_offsets_as_if_copied_onto_the_timeline(
    offsets: tuple[float, float],
) -> None:
    # Over two minutes and off the frame grid: several blocks, a track cut by the timeline's end.
    rng = np.random.default_rng(7)
    tracks = [
        (rng.uniform(-0.5, 0.5, n).astype(np.float32), o)
        for n, o in zip((130 * SAMPLE_RATE + 17, 70 * SAMPLE_RATE), offsets, strict=True)
    ]
    length = max(round(o * SAMPLE_RATE) + len(t) for t, o in tracks) - SAMPLE_RATE // 3

    mix = mixdown(tracks, length)

    copied = sum(_placed(t, o, length) for t, o in tracks)
    assert np.allclose(mix, copied * (0.9 / np.abs(copied).max()), atol=1e-6)
    for samples, offset in tracks:
        assert np.allclose(power_envelope(samples, offset, length), power_envelope(_placed(samples, offset, length)))


def test_the_mix_lives_in_a_file_not_in_memory() -> None:
    mix = mixdown([(np.ones(SAMPLE_RATE, dtype=np.float32), 0.5)], 2 * SAMPLE_RATE)

    assert isinstance(mix.base, memoryview) and isinstance(mix.base.obj, mmap.mmap)
    assert mix[: SAMPLE_RATE // 2].sum() == 0
    assert mix[SAMPLE_RATE // 2 : 3 * SAMPLE_RATE // 2].min() == pytest.approx(0.9)


def _tone(seconds: float, level: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_a_word_leaking_into_a_quieter_track_is_dropped_and_real_overlap_kept() -> None:
    speech = _tone(4.0, 0.5)
    own = np.concatenate([speech, _tone(2.0, 0.5)])  # track 0: speaks 0-4 s, then 4-6 s
    leak = np.concatenate([speech * 0.1, _tone(2.0, 0.4)])  # track 1: track 0 at -20 dB, then its own voice
    words = [
        Word("hello", 1.0, 1.4, 0),
        Word("hello", 1.02, 1.4, 1),  # the leak
        Word("both", 4.5, 4.9, 0),
        Word("talking", 4.5, 5.0, 1),  # genuine overlap at similar levels
    ]

    kept = remove_cross_talk(words, [power_envelope(own), power_envelope(leak)])

    assert kept == [words[0], words[2], words[3]]


def test_a_track_is_silenced_where_another_is_much_louder_before_it_is_transcribed() -> None:
    loud = np.concatenate([_tone(2.0, 0.5), np.zeros(2 * SAMPLE_RATE, dtype=np.float32)])
    quiet = np.concatenate([_tone(2.0, 0.05), _tone(2.0, 0.3)])  # leak for 2 s, then its own voice
    leaking = leaking_frames([power_envelope(loud), power_envelope(quiet)])

    # The quiet track joined 1 s into the meeting: its samples start there.
    heard = without_leaks(quiet[SAMPLE_RATE:], 1.0, leaking[1])

    assert not leaking[0][:40].any()  # the loud track's own voice, 0-2 s, is kept
    assert np.abs(heard[:SAMPLE_RATE]).max() == 0.0  # 1-2 s on the timeline: leakage
    assert np.abs(heard[SAMPLE_RATE:]).max() > 0.25  # 2-3 s: its own voice


def test_a_track_below_minus_50_dbfs_is_silent() -> None:
    assert is_silent(np.full(SAMPLE_RATE, 0.002, dtype=np.float32))
    assert is_silent(np.zeros(0, dtype=np.float32))
    assert not is_silent(_tone(1.0, 0.01))
