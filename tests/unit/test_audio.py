"""Decoding any recording people upload, and the sentences they see when it is not usable."""

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from reflector.pipelines import audio
from reflector.pipelines.protocols import AudioError
from tests.paths import REAL


def tone(seconds: float, freq: float = 440.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * audio.SAMPLE_RATE)) / audio.SAMPLE_RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_video(path: Path, *, with_audio: bool, seconds: int = 2) -> Path:
    """A small mp4 made on the spot: mpeg4 video, optionally an AAC track of a tone."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=44100, layout="stereo") if with_audio else None
        for i in range(seconds * 10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 10 % 255, np.uint8), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 10)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = np.tile(np.sin(np.arange(44100 * seconds) / 10).astype(np.float32) * 0.3, (2, 1))
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 44100, 0
            out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return path


@pytest.mark.parametrize(
    ("name", "seconds"),
    [
        ("jfk.flac", 11.0),
        ("hello_48k_stereo.wav", 19.97),
        ("hello_48k_stereo.mp3", 19.97),
        ("multilingual.mp3", 59.9),
        ("two_speakers_sample.wav", 30.0),
        ("stereo_diarization.wav", 5.0),
    ],
)
def test_decodes_containers_to_16k_mono_float(name: str, seconds: float) -> None:
    samples = audio.decode(REAL / name)

    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert audio.duration_of(samples) == pytest.approx(seconds, abs=0.1)
    assert np.abs(samples).max() <= 1.0
    assert np.abs(samples).max() > 0.05


def test_same_clip_in_two_containers_decodes_alike() -> None:
    wav = audio.decode(REAL / "hello_48k_stereo.wav")
    mp3 = audio.decode(REAL / "hello_48k_stereo.mp3")
    n = min(len(wav), len(mp3))

    # mp3 encoders add a little delay and loss; the envelopes still match closely.
    assert abs(len(wav) - len(mp3)) < audio.SAMPLE_RATE * 0.1
    assert np.corrcoef(audio.waveform(wav[:n], 200), audio.waveform(mp3[:n], 200))[0, 1] > 0.95


def test_loud_stereo_downmix_is_clipped_to_full_scale(tmp_path: Path) -> None:
    path = tmp_path / "loud.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_f32le", rate=audio.SAMPLE_RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.full((1, 32000), 1.0, np.float32), format="flt", layout="stereo")
        frame.sample_rate, frame.pts = audio.SAMPLE_RATE, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    samples = audio.decode(path)

    assert np.abs(samples).max() <= 1.0


def test_video_file_gives_its_audio_track(tmp_path: Path) -> None:
    samples = audio.decode(write_video(tmp_path / "call.mp4", with_audio=True))

    assert audio.duration_of(samples) == pytest.approx(2.0, abs=0.1)
    assert np.abs(samples).max() > 0.1


def test_silence_is_not_an_error() -> None:
    samples = audio.decode(REAL / "squirrel.wav")  # the file's samples are all zero

    assert audio.duration_of(samples) == pytest.approx(10.0, abs=0.1)
    assert audio.waveform(samples) == [0.0] * audio.MIN_PEAKS


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")

    with pytest.raises(AudioError, match="empty"):
        audio.decode(path)


def test_text_renamed_mp3_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("Agenda: budget, hiring, launch date.\n" * 50)

    with pytest.raises(AudioError, match="not an audio or video file we can read"):
        audio.decode(path)


def test_video_without_audio_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no audio track"):
        audio.decode(write_video(tmp_path / "silent.mp4", with_audio=False))


def test_truncated_mp3_keeps_what_decodes(tmp_path: Path) -> None:
    whole = (REAL / "multilingual.mp3").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 2])

    samples = audio.decode(path)

    assert 25.0 < audio.duration_of(samples) < 35.0


def test_truncated_file_with_nothing_decodable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.flac"
    path.write_bytes((REAL / "jfk.flac").read_bytes()[:200])

    with pytest.raises(AudioError):
        audio.decode(path)


def test_very_short_clip_is_refused(tmp_path: Path) -> None:
    path = audio.encode_mp3(tone(0.2), tmp_path / "blip.mp3")

    with pytest.raises(AudioError, match="too short"):
        audio.decode(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="does not exist"):
        audio.decode(tmp_path / "nope.wav")


def test_ten_minutes_decode_in_seconds(tmp_path: Path) -> None:
    # 48 kHz stereo like a browser or phone recording, so the resampler and downmix are timed too.
    # One minute is encoded and its mp3 frames repeated: without a Xing header mp3 concatenates.
    speech = np.repeat(audio.decode(REAL / "two_speakers_sample.wav"), 3)  # crude 16 -> 48 kHz
    minute = tmp_path / "minute.mp3"
    with av.open(str(minute), "w", format="mp3", options={"write_xing": "0", "id3v2_version": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=48000, layout="stereo")
        for i in range(2):
            frame = av.AudioFrame.from_ndarray(np.tile(speech, (2, 1)), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, i * len(speech)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    path = tmp_path / "long.mp3"
    path.write_bytes(minute.read_bytes() * 10)

    started = time.perf_counter()
    samples = audio.decode(path)
    seconds = time.perf_counter() - started

    print(f"\ndecode of a 10 min 48 kHz stereo mp3: {seconds:.2f} s")
    assert audio.duration_of(samples) == pytest.approx(600.0, abs=1.0)
    assert seconds < 15.0  # about a second on 2 idle cores; generous for shared CI machines


def test_waveform_peaks_are_normalised_and_scale_with_duration() -> None:
    quiet_then_loud = np.concatenate([tone(5.0, level=0.1), tone(5.0, level=0.4)])

    peaks = audio.waveform(quiet_then_loud)

    assert len(peaks) == audio.MIN_PEAKS
    assert max(peaks) == 1.0
    assert peaks[0] == pytest.approx(0.25, abs=0.01)
    assert all(p == round(p, 2) for p in peaks)
    assert audio.peak_count(3600.0) == 3600
    assert audio.peak_count(10 * 3600.0) == audio.MAX_PEAKS
    assert len(audio.waveform(tone(1.0), peaks=40)) == 40


def test_waveform_of_fewer_samples_than_peaks() -> None:
    assert len(audio.waveform(tone(0.001), peaks=255)) == 255


def test_encode_mp3_from_array_and_from_file(tmp_path: Path) -> None:
    source = audio.decode(REAL / "jfk.flac")

    from_array = audio.decode(audio.encode_mp3(source, tmp_path / "a.mp3"))
    from_file = audio.decode(audio.encode_mp3(REAL / "jfk.flac", tmp_path / "b.mp3"))

    for copy in (from_array, from_file):
        assert audio.duration_of(copy) == pytest.approx(11.0, abs=0.1)
    with av.open(str(tmp_path / "b.mp3")) as container:
        assert container.format.name == "mp3"
        assert container.streams.audio[0].rate == 44100


def _resident_kb(samples: np.ndarray) -> int:
    """Resident kB of the mapping that holds `samples`, from /proc/self/smaps."""
    address = samples.__array_interface__["data"][0]
    lines = Path("/proc/self/smaps").read_text().splitlines()
    for i, line in enumerate(lines):
        start, _, end = line.split(" ", 1)[0].partition("-")
        if end and int(start, 16) <= address < int(end, 16):
            rss = next(entry for entry in lines[i + 1 :] if entry.startswith("Rss:"))
            return int(rss.split()[1])
    raise AssertionError("the samples are not in a mapping of their own")


def test_mapped_decode_reads_the_same_samples_from_a_file_that_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    in_memory = audio.decode(REAL / "two_speakers_sample.wav")
    mapped = audio.decode(REAL / "two_speakers_sample.wav", mapped=True)
    np.testing.assert_array_equal(mapped, in_memory)
    assert not mapped.flags.writeable  # the models read it; nobody may change the recording under them
    assert list(tmp_path.iterdir()) == []  # an unnamed file: a killed worker leaves nothing behind


def test_paged_out_keeps_only_what_is_being_read_resident() -> None:
    samples = audio.decode(REAL / "two_speakers_sample.wav", mapped=True)
    size_kb = samples.nbytes // 1024
    total = float(samples.sum())
    assert _resident_kb(samples) > size_kb * 0.9  # read whole: every page mapped in
    with audio.paged_out(samples, every_s=0.05):
        time.sleep(0.3)
        assert _resident_kb(samples) < size_kb * 0.1
        assert float(samples.sum()) == total  # read again from the page cache, unchanged
    assert _resident_kb(samples) < size_kb * 0.1
