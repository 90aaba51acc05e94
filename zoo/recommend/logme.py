"""LogME: how well a backbone's features suit a labelled data set, without fine-tuning.

You, Liu, Wang and Long, "LogME: Practical Assessment of Pre-trained Models for Transfer
Learning", ICML 2021, https://arxiv.org/abs/2102.11005 (and the SVD form of their JMLR 2022
follow-up, "Ranking and Tuning Pre-trained Models").

For every class c, the one-hot column y (N values) is modelled as a Bayesian linear
regression on the features F (N × D): ``y = F w + ε`` with the prior ``w ~ N(0, I/α)`` and
noise ``ε ~ N(0, I/β)``. Integrating ``w`` out gives the evidence

    log p(y | F, α, β) = D/2 log α + N/2 log β − N/2 log 2π
                         − β/2 ‖F m − y‖² − α/2 ‖m‖² − 1/2 log |A|,

    A = α I + β FᵀF,   m = β A⁻¹ Fᵀ y,

and LogME is its maximum over (α, β), divided by N and averaged over the classes. The
maximum is found with MacKay's fixed-point iteration, the paper's Algorithm 1:

    γ = Σᵢ β σᵢ / (α + β σᵢ),   α ← γ / ‖m‖²,   β ← (N − γ) / ‖F m − y‖²,

where σᵢ are the eigenvalues of FᵀF. Everything is computed from the thin SVD
``F = U S Vᵀ`` (the k non-zero singular values ``sᵢ``, ``σᵢ = sᵢ²``): with ``x = Uᵀ y`` and
``t = α / β``,

    ‖m‖² = Σ σᵢ xᵢ² / (σᵢ + t)²,
    ‖F m − y‖² = Σ xᵢ² t² / (σᵢ + t)² + (‖y‖² − ‖x‖²),
    log |A| = Σᵢ log(α + β σᵢ) + (D − k) log α,

so an iteration costs O(k) per class and the decomposition is paid once for all classes, in
float64. It is taken as the eigendecomposition of the smaller Gram matrix, FᵀF (D × D) when
there are more images than features, else FFᵀ (N × N), as the authors' code does for the
first case: from the eigenvectors V of FᵀF, ``x = S⁻¹ Vᵀ Fᵀ y``. That is cheaper than
LAPACK's SVD of F itself when both N and D run to a thousand or more (a team's folder seen
through EfficientNet-Lite's 1,280 features); ``make benchmark`` times ``zoo recommend`` part
by part, LogME among them. Eigenvalues below 10⁻¹⁰ of the largest count as zero: their directions hold no feature
variance, and their part of y is the residual outside F's span.

With fewer images than features (a team's 40 images seen through 512 features) every class
column lies in the span of F, the residual can shrink to nothing and the evidence keeps
growing as β → ∞: there is no finite maximum. The authors' code adds 10⁻⁵ to ‖m‖² and to
‖F m − y‖² in the updates, which bounds α and β and so makes the iteration stop at a
finite, reproducible point; zoo does the same, and evaluates the evidence there exactly. The last term of log |A| counts the zero eigenvalues FᵀF has when there
are fewer images than features; the authors' released SVD code leaves it out, which shifts
the score by ``(D − N) log α / 2N`` per class when N < D. The released code also stops after
11 iterations at a relative change of 10⁻³; here the iteration runs to 10⁻⁶ (each step is
a few vector operations), so the result is the fixed point itself.

Higher is better: features that make every class a linear function of them, with little
noise and small weights, have a large evidence. Scores are comparable between backbones on
the same data (that is what they are for), not between data sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Evidence", "fit_evidence", "logme"]

TOLERANCE = 1e-6  # relative change of α/β at which the fixed point is reached
MAX_ITERATIONS = 1000  # it typically takes fewer than ten
RANK_TOLERANCE = 1e-10  # eigenvalues of the Gram matrix below this share of the largest count as zero
EPSILON = 1e-5  # added to ‖m‖² and ‖F m − y‖² in the updates, as in the authors' code (see below)


@dataclass(frozen=True)
class Evidence:
    """The maximised evidence of each target column, with the (α, β) that maximise it."""

    alpha: torch.Tensor  # [T] prior precision of the weights
    beta: torch.Tensor  # [T] precision of the noise
    log_evidence: torch.Tensor  # [T] log p(y | F, α, β) / N at the fixed point
    iterations: int  # fixed-point steps taken (the slowest column's)


def fit_evidence(features: torch.Tensor, targets: torch.Tensor) -> Evidence:
    """Maximise the evidence of every column of ``targets`` (N × T) given ``features`` (N × D)."""
    f = torch.as_tensor(features).to(torch.float64)
    y = torch.as_tensor(targets).to(torch.float64)
    if y.ndim == 1:
        y = y[:, None]
    n, d = f.shape
    if y.shape[0] != n:
        raise ValueError(f"{n} feature rows but {y.shape[0]} target rows")
    sigma, x2 = _spectrum(f, y)
    k = sigma.shape[0]
    outside = ((y * y).sum(0) - x2.sum(0)).clamp_min(0)  # ‖y‖² beyond the span of F's columns

    alpha = torch.ones(y.shape[1], dtype=torch.float64)
    beta = torch.ones_like(alpha)
    iterations, converged = 0, False
    while not converged and iterations < MAX_ITERATIONS:
        t = alpha / beta
        m2, res2 = _norms(sigma, x2, outside, t)
        gamma = (sigma / (sigma + t)).sum(0)
        alpha = gamma / (m2 + EPSILON)
        beta = (n - gamma) / (res2 + EPSILON)
        iterations += 1
        converged = bool(((alpha / beta - t).abs() <= TOLERANCE * t).all())
    m2, res2 = _norms(sigma, x2, outside, alpha / beta)
    log_det = torch.log(alpha + beta * sigma).sum(0) + (d - k) * torch.log(alpha)
    evidence = (
        d / 2 * torch.log(alpha)
        + n / 2 * torch.log(beta)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * res2
        - alpha / 2 * m2
        - log_det / 2
    )
    return Evidence(alpha, beta, evidence / n, iterations)


def _spectrum(f: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The non-zero eigenvalues σ [k, 1] of FᵀF and the squared coordinates x² [k, T] of
    ``y`` along F's left singular vectors, from the smaller Gram matrix."""
    if f.shape[0] > f.shape[1]:
        sigma, v = torch.linalg.eigh(f.T @ f)
        keep = sigma > sigma.max() * RANK_TOLERANCE
        sigma = sigma[keep]
        x2 = (v[:, keep].T @ (f.T @ y)) ** 2 / sigma[:, None]  # (sᵢ xᵢ)² / σᵢ
    else:
        sigma, u = torch.linalg.eigh(f @ f.T)
        keep = sigma > sigma.max() * RANK_TOLERANCE
        sigma = sigma[keep]
        x2 = (u[:, keep].T @ y) ** 2
    return sigma[:, None], x2


def _norms(sigma: torch.Tensor, x2: torch.Tensor, outside: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """‖m‖² and ‖F m − y‖² for the ratio ``t = α / β``."""
    shrink = 1 / (sigma + t)
    m2 = (sigma * x2 * shrink**2).sum(0)
    res2 = (x2 * (t * shrink) ** 2).sum(0) + outside
    return m2, res2


def logme(features: torch.Tensor, labels: torch.Tensor) -> float:
    """LogME of ``features`` (N × D) for class ``labels`` (N integers): the maximised
    evidence per image of each class's one-hot column, averaged over the classes present."""
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or len(labels) != len(features):
        raise ValueError(f"need one label per feature row: {len(features)} rows, labels of shape {tuple(labels.shape)}")
    present = torch.unique(labels)
    one_hot = (labels[:, None] == present[None, :]).to(torch.float64)
    return float(fit_evidence(features, one_hot).log_evidence.mean())
