"""Recommending: placing a team's folder by size and similarity, LogME's choice of backbone,
a team's folder as a task, and the advice ``zoo recommend`` gives. The studies that check it
are in :mod:`zoo.studies`."""
