"""A voice keeps one label across the windows of a long recording (speaker embeddings made up here)."""

import numpy as np

from reflector.pipelines.speaker_identity import cluster_by_window, link_clusters, window_count, window_of

RNG = np.random.default_rng(21)
VOICES = RNG.normal(size=(4, 192))


def utterances(voice: int, count: int) -> np.ndarray:
    """Embeddings of one voice: its direction plus the scatter of short subsegments."""
    return VOICES[voice] + RNG.normal(scale=0.6, size=(count, 192))


def test_short_recordings_are_one_window_and_long_ones_ten_minute_windows() -> None:
    assert window_count(1199.0) == 1
    assert window_count(1200.0) == 2
    assert window_count(3 * 3600.0) == 18
    assert list(window_of(np.array([0.0, 599.0, 601.0, 1199.0]), 1200.0)) == [0, 0, 1, 1]


def test_a_voice_keeps_its_label_in_every_window() -> None:
    voices = [0, 1, 2] * 10 + [1, 0] * 10 + [2, 0, 1] * 10
    windows = np.array([0] * 30 + [1] * 20 + [2] * 30)
    embeddings = np.concatenate([utterances(v, 1) for v in voices])
    # Each window's own clustering: right, but numbering the voices its own way.
    local = np.array([(voice + window) % 3 for voice, window in zip(voices, windows, strict=True)])

    labels = link_clusters(embeddings, windows, local)

    assert len(set(labels)) == 3
    first_label = {}
    assert all(first_label.setdefault(v, label) == label for v, label in zip(voices, labels, strict=True))


def test_a_voice_one_window_split_in_two_is_one_speaker_and_other_voices_stay_apart() -> None:
    voices = [0, 1] * 20
    embeddings = np.concatenate([utterances(v, 1) for v in voices])
    windows = np.zeros(40, dtype=int)
    local = np.array([v if i < 20 else v + 2 for i, v in enumerate(voices)])  # voice 0 as 0 and 2, 1 as 1 and 3

    labels = link_clusters(embeddings, windows, local)

    assert len(set(labels)) == 2
    assert all((label == labels[0]) == (v == voices[0]) for v, label in zip(voices, labels, strict=True))


def test_a_known_speaker_count_is_reached() -> None:
    voices = [0, 1, 2, 3] * 10
    embeddings = np.concatenate([utterances(v, 1) for v in voices])
    windows = np.array([0] * 20 + [1] * 20)

    labels = cluster_by_window(embeddings, windows, lambda x: np.arange(len(x)) % 4, num_speakers=2)

    assert len(set(labels)) == 2
