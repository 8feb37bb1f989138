"""The identity-layer check both engines use (builder/batch.py): a layer whose reduction inputs equal the
previous layer's shares its maps, told by a fingerprint confirmed against the previous inputs."""
from __future__ import annotations

import numpy as np

from builder.batch import IdentityCheck


def test_a_layer_equal_to_the_previous_one_is_found_and_others_are_not():
    rng = np.random.default_rng(0)
    layers = {1: rng.integers(-100, 100, size=(50, 8)).astype(np.float32)}  # whole numbers: exact sums in any order
    layers[2] = layers[1].copy()  # dropout at inference: the same values
    layers[3] = layers[2][::-1].copy()  # the same sum, minimum and maximum, in another order
    layers[4] = layers[3].copy()
    layers[5] = layers[4].reshape(100, 4)  # the same values in another shape
    reads = []

    def read(layer_id):
        reads.append(layer_id)
        return layers[layer_id]

    check = IdentityCheck(read)
    same = {layer_id: check.same_as_previous(layer_id, x) for layer_id, x in layers.items()}
    assert same == {1: False, 2: True, 3: False, 4: True, 5: False}
    # the previous layer is read again only when the fingerprints match (2 and 3 against 1 and 2, 4 against 3)
    assert reads == [1, 2, 3]
