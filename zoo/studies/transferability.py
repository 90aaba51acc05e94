"""Transferability estimators beside LogME: scores of a pretrained backbone for a labelled
target data set from forward passes alone, higher meaning "fine-tunes better".

LogME (:mod:`zoo.recommend.logme`) is the one ``zoo recommend`` ranks backbones by. The three here are
the standard points of comparison, each a few lines over the same forward pass, so that
:func:`zoo.studies.agreement.logme_agreement` can say whether LogME is the best of them on the
measured tasks rather than assume it:

* **H-score** (Bao et al., "An Information-theoretic Approach to Transferability in Task
  Transfer Learning", ICIP 2019): ``tr(cov(f)⁻¹ cov(E[f | y]))`` over the pooled features,
  how much of the features' variance lies between the classes, in its shrinkage form
  (Ibrahim et al., "Newer is not always better: Rethinking transferability metrics, their
  peculiarities, stability and performance", ECML PKDD 2022);
* **NCE** (Tran et al., "Transferability and Hardness of Supervised Classification Tasks",
  ICCV 2019): ``-H(Y | Z)``, the target labels' conditional entropy given the source
  classifier's predicted class;
* **LEEP** (Nguyen et al., "LEEP: A New Measure to Evaluate Transferability of Learned
  Representations", ICML 2020): the average log-likelihood of the target labels under the
  source classifier's soft predictions composed with the empirical ``P(y | z)``.

NCE and LEEP read the source classifier's logits, so they need the backbone's own head:
suite weights keep it (the source's classes), hub weights keep ImageNet's.
"""

from __future__ import annotations

import torch
from sklearn.covariance import ledoit_wolf_shrinkage

__all__ = ["ESTIMATORS", "VERSION", "h_score", "leep", "nce"]

VERSION = 2  # of the estimators' definitions: scores kept under another (zoo.studies.agreement) are computed again


def _labels(labels: torch.Tensor, rows: int) -> torch.Tensor:
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or len(labels) != rows:
        raise ValueError(f"need one label per row: {rows} rows, labels of shape {tuple(labels.shape)}")
    return torch.unique(labels, return_inverse=True)[1]


def h_score(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Shrinkage H-score of ``features`` (N × D) for ``labels``.

    With fewer images than dimensions (mini's small tasks: 80 images, 128 to 1,024 features)
    the plain covariance is singular, and its pseudo-inverse makes every backbone score
    exactly C - 1: 3.0 for both backbones on fashion_footwear_small, a tie that says nothing.
    The covariance is shrunk towards its mean variance times the identity by Ledoit and Wolf's
    coefficient α, and the between-class covariance scaled by 1 - α, as Ibrahim et al. do.
    """
    y = _labels(labels, len(features))
    f = features.double() - features.double().mean(0)
    covariance = f.T @ f / len(f)
    class_means = torch.zeros(int(y.max()) + 1, f.shape[1], dtype=torch.float64).index_add_(0, y, f)
    class_means /= torch.bincount(y).double()[:, None]
    g = class_means[y]  # each image's class mean: E[f | y]
    between = g.T @ g / len(g)
    alpha = float(ledoit_wolf_shrinkage(f.numpy(), assume_centered=True))
    scale = torch.trace(covariance) / f.shape[1]
    shrunk = (1 - alpha) * covariance + alpha * scale * torch.eye(f.shape[1], dtype=torch.float64)
    return float(torch.trace(torch.linalg.pinv(shrunk, hermitian=True) @ ((1 - alpha) * between)))


def _joint(source_probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The empirical joint ``P(y, z)`` of target label and source class, [Y, Z]."""
    joint = torch.zeros(int(y.max()) + 1, source_probs.shape[1], dtype=torch.float64)
    return joint.index_add_(0, y, source_probs.double()) / len(y)


def nce(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """NCE of the source classifier's ``logits`` (N × Z) for ``labels``: ``-H(Y | Z)`` with
    ``z`` each image's predicted source class."""
    y = _labels(labels, len(logits))
    hard = torch.nn.functional.one_hot(logits.argmax(1), logits.shape[1])
    joint = _joint(hard, y)
    conditional = joint / joint.sum(0, keepdim=True).clamp_min(1e-300)
    present = joint > 0
    return float((joint[present] * conditional[present].log()).sum())


def leep(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """LEEP of the source classifier's ``logits`` (N × Z) for ``labels``."""
    y = _labels(labels, len(logits))
    probs = torch.softmax(logits.double(), 1)
    joint = _joint(probs, y)
    conditional = joint / joint.sum(0, keepdim=True).clamp_min(1e-300)  # P(y | z)
    likelihood = (probs * conditional[y]).sum(1)  # Σ_z P(y_i | z) θ(x_i)_z
    return float(likelihood.clamp_min(1e-300).log().mean())


# name -> (what it reads: "pooled" features or source "logits", the function)
ESTIMATORS = {"h_score": ("pooled", h_score), "nce": ("logits", nce), "leep": ("logits", leep)}
