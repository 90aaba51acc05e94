"""The transferability estimators beside LogME, on data whose answer is known."""

import math

import pytest
import torch

from zoo.studies.transferability import h_score, leep, nce


def blobs(separation: float, n: int = 300, dims: int = 8, classes: int = 3, seed: int = 0):
    """``classes`` Gaussian blobs ``separation`` apart along the first axes, unit noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    centres = torch.zeros(classes, dims)
    centres[torch.arange(classes), torch.arange(classes)] = separation
    return centres[labels] + torch.randn(n, dims, generator=generator), labels


def test_h_score_grows_with_class_separation_and_is_near_zero_without():
    scores = [h_score(*blobs(s)) for s in (0.0, 1.0, 3.0)]
    assert scores[0] < 0.1 < scores[1] < scores[2]
    # More dimensions than images: the plain covariance's pseudo-inverse scored every such
    # set C - 1 = 2 whatever its separation; the shrunk one still tells them apart.
    few = [h_score(*blobs(s, n=30, dims=64)) for s in (0.0, 1.0, 3.0)]
    assert all(math.isfinite(v) for v in few) and few[0] < few[1] < few[2] < 2 - 0.1


def test_nce_is_zero_when_the_source_class_names_the_label_and_minus_the_label_entropy_when_independent():
    labels = torch.arange(400) % 4
    informative = torch.nn.functional.one_hot(labels, 6).float() * 5  # source class z = label
    assert nce(informative, labels) == pytest.approx(0.0, abs=1e-12)
    uninformative = torch.zeros(400, 6)
    uninformative[:, 2] = 1.0  # every image predicted as the same source class
    assert nce(uninformative, labels) == pytest.approx(-math.log(4))


def test_leep_matches_its_definition_on_a_small_case():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    probs = torch.softmax(logits.double(), 1)
    joint = torch.stack([probs[labels == y].sum(0) for y in (0, 1)]) / 3  # P(y, z)
    conditional = joint / joint.sum(0)
    expected = sum(math.log(float((probs[i] * conditional[labels[i]]).sum())) for i in range(3)) / 3
    assert leep(logits, labels) == pytest.approx(expected)
    sharper = leep(logits * 10, labels)  # more confident predictions that separate the labels
    assert expected < sharper <= 0


def test_one_label_per_row():
    with pytest.raises(ValueError, match="one label per row"):
        leep(torch.zeros(3, 2), torch.tensor([0, 1]))
