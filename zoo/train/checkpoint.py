"""Resumable training: a fit's whole state after each epoch, so a run that stops part-way
(a session's time limit, a killed process) goes on from its last finished epoch.

Pretraining a large backbone on a slow CPU takes longer than one sitting, and a fit that
started over each time would never end. The state saved is everything the next epoch reads:
the weights, the optimizer's momentum, the schedule's counters and validation curve, and the
random generators (shuffling, augmentation, dropout). A resumed run therefore ends bit for bit
where an uninterrupted one would on the same machine; its weights, and their fingerprint, do
not depend on where it was stopped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Checkpoint:
    """The file a fit keeps its state in, and the run it belongs to.

    ``identity`` names the run (its weights' tag, which fingerprints the recipe, the data and
    the seed): a file left by another run, or one cut short while written, is not resumed.
    """

    path: Path
    identity: str

    def save(self, state: dict) -> None:
        """Replace the file whole, so a kill while writing leaves the previous epoch's."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".tmp")
        torch.save({"identity": self.identity, **state}, partial)
        os.replace(partial, self.path)

    def load(self) -> dict | None:
        """The saved state, or None when there is none of this run to resume."""
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # none yet, or torn, foreign, from an incompatible torch: start over
            return None
        return state if isinstance(state, dict) and state.get("identity") == self.identity else None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
