"""Recommending: placing a team's folder by size and similarity, LogME's choice of backbone,
a team's folder as a task, and the advice ``zoo recommend`` gives. The studies that check it
are in :mod:`zoo.studies`."""

# The suite a folder is placed in unless told otherwise: its backbones' ImageNet weights install
# with zoo, so a team gets an answer on day one, with nothing pretrained first. Here, where the
# command line reads it without importing torch.
DEFAULT_SUITE = "imagenet_offline"
