"""spectral_clustering: the speakers of a stretch of embeddings, as senko's spectral clustering finds them."""

import numpy as np

from reflector.pipelines import spectral_clustering
from reflector.pipelines.spectral_clustering import MIN_EMBEDDINGS, cluster

DIM = 192


def voices(sizes: list[int], *, spread: float = 0.6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of len(sizes) voices and the voice of each. As CAM++'s: two voices' centres are about 0.5
    similar (a part every voice shares), and an embedding about 0.85 similar to its voice's centre."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(DIM) / np.sqrt(DIM)
    centres = shared + rng.standard_normal((len(sizes), DIM)) / np.sqrt(DIM)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    noise = rng.standard_normal((len(truth), DIM)) * spread / np.sqrt(DIM)
    order = rng.permutation(len(truth))  # speakers take turns, not blocks
    return (centres[truth] + noise)[order].astype(np.float32), truth[order]


def same_partition(labels: np.ndarray, truth: np.ndarray) -> bool:
    pairs = set(zip(labels.tolist(), truth.tolist(), strict=True))
    return len(pairs) == len(set(labels.tolist())) == len(set(truth.tolist()))


def test_each_voice_gets_one_label_and_the_count_is_found() -> None:
    for seed, sizes in enumerate([[40, 25], [30, 30, 12], [20, 35, 15, 50, 9]]):
        embeddings, truth = voices(sizes, seed=seed)
        labels = cluster(embeddings)
        assert same_partition(labels, truth), (sizes, np.unique(labels, return_counts=True))


def test_a_known_count_is_used_instead_of_the_eigengap() -> None:
    embeddings, truth = voices([30, 30, 30, 30])
    assert same_partition(cluster(embeddings), truth)
    assert len(np.unique(cluster(embeddings, num_speakers=2))) == 2
    assert len(np.unique(cluster(embeddings, max_speakers=3))) <= 3


def test_one_voice_split_by_a_known_count_is_merged_back() -> None:
    """Clusters whose centres are near-identical are one voice, whatever count was asked for."""
    embeddings, _ = voices([60], spread=0.2)
    assert len(np.unique(cluster(embeddings, num_speakers=3))) == 1


def test_too_few_embeddings_are_one_speaker() -> None:
    embeddings, _ = voices([MIN_EMBEDDINGS // 2, MIN_EMBEDDINGS // 2 - 1])
    assert len(np.unique(cluster(embeddings))) == 1


def test_a_cluster_of_a_few_embeddings_joins_the_nearest_large_one() -> None:
    embeddings, truth = voices([30, 30, 2], seed=3)
    # The two strays lie nearer voice 0 than voice 1.
    embeddings[truth == 2] = embeddings[truth == 0][:2] * 0.6 + embeddings[truth == 2] * 0.4
    labels = spectral_clustering._absorb_small(truth.copy(), embeddings)
    assert set(labels[truth == 2].tolist()) == {0}
    assert np.array_equal(labels[truth != 2], truth[truth != 2])


def test_two_close_voices_are_not_merged() -> None:
    """Two voices whose centres are 0.9 alike (as espeak's voices, or two siblings) stay two: senko's merge at
    0.875 made school_trip's four speakers two."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal(DIM)
    other = rng.standard_normal(DIM)
    other -= other @ base / (base @ base) * base  # orthogonal to base
    base, other = base / np.linalg.norm(base), other / np.linalg.norm(other)
    centres = np.stack([base, 0.9 * base + np.sqrt(1 - 0.9**2) * other])
    truth = rng.permutation(np.repeat([0, 1], [40, 40]))
    embeddings = (centres[truth] + rng.standard_normal((80, DIM)) * 0.25 / np.sqrt(DIM)).astype(np.float32)

    assert same_partition(cluster(embeddings), truth)
