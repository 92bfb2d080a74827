"""A Daily raw-tracks recording made on the fly: a `make_meeting.py` stand-up cut into one WebM/Opus track
per participant, as Daily writes them.

Each participant's track holds their turns and silence elsewhere and starts when they joined; Alice shares
her screen (a fourth voice on her screen-audio track) and has a camera video track; Bob's microphone is
muted for a while (no packets, as Daily sends none) and picks up Alice's voice at -20 dB.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import av
import msgspec
import numpy as np

from reflector.pipelines import audio
from tests.paths import MAKE_MEETING
from tests.references import read_stm

SR = audio.SAMPLE_RATE
RECORDING_START_MS = 1_780_000_000_000
LEAK = 0.1  # -20 dB
NOISE = 0.002

SCRIPT = """\
@voice alice en-us+f3 60 165
@voice bob en-gb-x-rp+m3 35 150
@voice carol en-gb-scotland+f2 70 160
@voice video en-us+m5 45 155
alice: Good morning everyone. Let's look at the release plan for this week.
bob: The build is green and the installer works on every machine we tried.
alice: Great. I will share the dashboard so everyone can see the numbers.
video: Welcome to the quarterly dashboard. Sales grew by ten percent this quarter.
carol: Sorry I am late. The numbers look good, but the support queue is still long.
bob: I can help with the support queue tomorrow morning.
alice: Thank you Bob. Carol, please send the summary to the team by Friday.
carol: I will send it today.
"""

PARTICIPANTS = {
    "alice": ("8f0c2a5e-1b7d-4c3e-9a6f-2d4b8e1c7a90", "Alice Martin"),
    "bob": ("0b6e9d4c-3a2f-4e1d-8c7b-5a9f1e2d3c4b", "Bob Okafor"),
    "carol": ("5d3c1b2a-9e8f-4a7b-b6c5-d4e3f2a1b0c9", "Carol Ng"),
}
SHARER = "alice"  # who plays the `video` voice through a screen share


class Turn(msgspec.Struct, frozen=True):
    speaker: str  # the participant the words belong to (the sharer for the screen share's voice)
    start: float
    end: float
    text: str


class DailyMeeting(msgspec.Struct, frozen=True):
    folder: Path
    keys: list[str]  # object keys as Daily names them, files under `folder`
    names: dict[str, str]  # participant id -> name, as Daily's meeting participants give them
    turns: list[Turn]  # the reference, on the meeting's timeline
    duration: float
    muted: tuple[float, float]  # Bob's muted stretch on the timeline

    def path_of(self, key: str) -> Path:
        return self.folder / key.rsplit("/", 1)[1]


def make_daily_meeting(folder: Path) -> DailyMeeting:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    assert not missing, f"make_meeting.py needs {' and '.join(missing)}: run `make test-tools`"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "script.txt"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, str(MAKE_MEETING), str(script), "--out", str(folder / "meeting"), "--gap", "0.5"],
                   check=True, capture_output=True)  # fmt: skip
    mix = audio.decode(folder / "meeting.wav")
    rows = read_stm(folder / "meeting.stm")
    turns = [Turn(SHARER if who == "video" else who, start, end, text) for who, start, end, text in rows]
    voice = {who: _only(mix, [(s, e) for w, s, e, _ in rows if w == who]) for who in ("alice", "bob", "carol", "video")}
    first = {who: min(s for w, s, _e, _t in rows if w == who) for who in voice}
    video = next((s, e) for w, s, e, _t in rows if w == "video")
    muted = (video[0] + 0.2, video[1] - 0.2)
    rng = np.random.default_rng(7)

    def noisy(samples: np.ndarray) -> np.ndarray:
        return samples + rng.normal(0, NOISE, len(samples)).astype(np.float32)

    tracks = {  # (participant, kind): (samples on the timeline, joined at, left at, muted stretch)
        ("alice", "cam-audio"): (noisy(voice["alice"]), 0.0, len(mix) / SR, None),
        ("bob", "cam-audio"): (noisy(voice["bob"] + LEAK * voice["alice"]), first["bob"] - 1.5, len(mix) / SR, muted),
        ("carol", "cam-audio"): (noisy(voice["carol"]), first["carol"] - 2.0, len(mix) / SR, None),
        ("alice", "screen-audio"): (noisy(voice["video"]), video[0] - 1.0, video[1] + 1.0, None),
    }
    keys = []
    for (who, kind), (samples, joined, left, gap) in tracks.items():
        key = _key(who, kind, joined)
        piece = samples[round(joined * SR) : round(left * SR)]
        _write_webm(folder / key.rsplit("/", 1)[1], piece, None if gap is None else (gap[0] - joined, gap[1] - joined))
        keys.append(key)
    keys.append(video_key := _key("alice", "cam-video", 0.0))
    _write_video(folder / video_key.rsplit("/", 1)[1])
    names = {pid: name for pid, name in PARTICIPANTS.values()}
    return DailyMeeting(folder, keys, names, turns, len(mix) / SR, muted)


def _key(who: str, kind: str, joined: float) -> str:
    track_ms = RECORDING_START_MS + round(joined * 1000)
    return f"acme.daily.co/standup-20260601120000/{RECORDING_START_MS}-{PARTICIPANTS[who][0]}-{kind}-{track_ms}.webm"


def _only(mix: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    out = np.zeros_like(mix)
    for start, end in spans:
        out[round(start * SR) : round(end * SR)] = mix[round(start * SR) : round(end * SR)]
    return out


def _write_webm(path: Path, samples: np.ndarray, gap: tuple[float, float] | None) -> None:
    """Opus at 48 kHz in WebM; over `gap` (seconds from the track's start) no packets at all."""
    kept = samples if gap is None else np.concatenate([samples[: round(gap[0] * SR)], samples[round(gap[1] * SR) :]])
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        pcm = (np.clip(kept, -1, 1) * 32767).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = SR, 0

        def mux(packets: list[av.Packet]) -> None:
            for packet in packets:
                if gap is not None and packet.pts is not None and packet.pts * packet.time_base >= gap[0]:
                    shift = round((gap[1] - gap[0]) / packet.time_base)
                    packet.pts += shift
                    packet.dts += shift
                out.mux(packet)

        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            mux(stream.encode(resampled))
        mux(stream.encode(None))


def _write_video(path: Path) -> None:
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, dtype=np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
