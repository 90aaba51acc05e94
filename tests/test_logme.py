"""LogME against known answers and against a direct, slow evaluation of the same evidence."""

import math

import numpy as np
import pytest
import torch

from zoo.recommend.logme import fit_evidence, logme


def clustered(n: int, dim: int, classes: int, spread: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features around one random centre per class; ``spread`` is the noise's scale."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    centres = torch.randn(classes, dim, generator=g) * 3
    return centres[labels] + spread * torch.randn(n, dim, generator=g), labels


def slow_evidence(f: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """log p(y | F, α, β) / N straight from its definition: y ~ N(0, F Fᵀ/α + I/β)."""
    n = len(y)
    cov = f @ f.T / alpha + np.eye(n) / beta
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    return float(-0.5 * (n * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(cov, y)) / n)


def slow_fixed_point(f: np.ndarray, y: np.ndarray, steps: int = 2000) -> tuple[float, float]:
    """MacKay's updates with the D × D matrices written out (the paper's Algorithm 1, with
    the authors' 1e-5 in the denominators)."""
    n, d = f.shape
    sigma = np.linalg.eigvalsh(f.T @ f)
    alpha = beta = 1.0
    for _ in range(steps):
        a = alpha * np.eye(d) + beta * f.T @ f
        m = beta * np.linalg.solve(a, f.T @ y)
        gamma = float(np.sum(beta * sigma / (alpha + beta * sigma)))
        alpha, beta = gamma / (m @ m + 1e-5), (n - gamma) / (np.sum((f @ m - y) ** 2) + 1e-5)
    return alpha, beta


def test_separable_features_score_higher_than_random_ones():
    separable, labels = clustered(300, 32, 5, spread=0.5)
    random = torch.randn(300, 32, generator=torch.Generator().manual_seed(1))
    noisier, _ = clustered(300, 32, 5, spread=3.0)
    assert logme(separable, labels) > logme(noisier, labels) > logme(random, labels)


def test_relabelling_classes_and_reordering_images_change_nothing():
    features, labels = clustered(200, 16, 4, spread=1.0)
    relabelled = torch.tensor([2, 0, 3, 1])[labels] + 10  # another permutation, other ids
    order = torch.randperm(200, generator=torch.Generator().manual_seed(2))
    score = logme(features, labels)
    assert logme(features, relabelled) == pytest.approx(score, rel=1e-9)
    assert logme(features[order], labels[order]) == pytest.approx(score, rel=1e-9)


def test_rotating_the_features_changes_nothing():
    """The prior on the weights is isotropic, so only the features' geometry matters."""
    features, labels = clustered(150, 12, 3, spread=1.0)
    rotation, _ = torch.linalg.qr(torch.randn(12, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    assert logme(features.double() @ rotation, labels) == pytest.approx(logme(features, labels), rel=1e-8)


@pytest.mark.parametrize(("n", "dim"), [(120, 10), (15, 40)], ids=["more-images-than-features", "fewer"])
def test_matches_the_direct_evidence_and_fixed_point(n, dim):
    features, labels = clustered(n, dim, 3, spread=1.5, seed=4)
    f = features.double().numpy()
    targets = torch.nn.functional.one_hot(labels).double()
    fitted = fit_evidence(features, targets)
    for c in range(3):
        y = targets[:, c].numpy()
        alpha, beta = slow_fixed_point(f, y)
        assert fitted.alpha[c].item() == pytest.approx(alpha, rel=1e-4)
        assert fitted.beta[c].item() == pytest.approx(beta, rel=1e-4)
        a, b = fitted.alpha[c].item(), fitted.beta[c].item()
        assert fitted.log_evidence[c].item() == pytest.approx(slow_evidence(f, y, a, b), rel=1e-9, abs=1e-9)
    assert logme(features, labels) == pytest.approx(fitted.log_evidence.mean().item(), rel=1e-12)


def test_the_fixed_point_maximises_the_evidence():
    features, labels = clustered(80, 8, 2, spread=1.0, seed=5)
    y = (labels == 0).double()
    fitted = fit_evidence(features, y)
    a, b = fitted.alpha.item(), fitted.beta.item()
    best = slow_evidence(features.double().numpy(), y.numpy(), a, b)
    for da, db in [(1.5, 1), (1 / 1.5, 1), (1, 1.5), (1, 1 / 1.5), (1.2, 1.2)]:
        assert slow_evidence(features.double().numpy(), y.numpy(), a * da, b * db) < best
    assert fitted.iterations < 100


def test_labels_must_match_the_features():
    with pytest.raises(ValueError, match="one label per feature row"):
        logme(torch.randn(10, 3), torch.zeros(9, dtype=torch.int64))
