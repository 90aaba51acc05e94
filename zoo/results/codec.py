"""The ``test_correct`` column's codec: which test images a cell classified correctly, as
packed bits in hex, one bit per image in the test split's order.

The runner encodes each cell's flags as it stores it; the verdicts' intervals decode them to
count the test images' sampling in the margin between two strategies, image by image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode_correct(correct: Sequence[bool] | np.ndarray) -> str:
    """Per-test-image correctness as stored in ``test_correct``: packed bits, as hex."""
    return np.packbits(np.asarray(correct, dtype=bool), bitorder="little").tobytes().hex()


def decode_correct(hex_string: str, images: int) -> np.ndarray:
    """The ``images`` correctness flags ``hex_string`` holds (:func:`encode_correct`'s inverse).

    Raises :class:`ValueError` when it is not hex or holds fewer than ``images`` flags.
    """
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(hex_string), np.uint8), bitorder="little")
    if images < 0 or len(bits) < images:
        raise ValueError(f"test_correct holds {len(bits)} flags, fewer than the {images} test images")
    return bits[:images].astype(bool)
