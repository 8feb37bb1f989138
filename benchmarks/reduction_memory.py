"""What one layer's reduction holds at full scale, before and after the reduction stopped copying.

    python -m benchmarks.reduction_memory [--n 7000] [--d 4096]

The builder reduces one layer at a time; what grows with N is that layer's inputs (N x D float32, 115 MB
for a VGG16 layer at 7000 images) and what the reduction copies of them. Each variant runs in a fresh
process on random inputs of that size and reports the peak RSS above the inputs themselves:

- `before`: the previous layer's inputs kept for the identity-layer check, PCA fitted on a centred copy,
  then `transform` making a second centred copy (the code of the 7000-image build);
- `after`: a fingerprint kept instead of the previous inputs, and `core.reduce.pca_layer(x,
  overwrite=True)` (the fit centres the inputs in place, the coordinates come from the SVD).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

VARIANTS = ("before", "after")


def run_variant(variant: str, n: int, d: int) -> dict:
    import numpy as np
    from sklearn.decomposition import PCA

    from builder.batch import IdentityCheck
    from core.reduce import MAX_COMPONENTS, pca_layer

    rng = np.random.default_rng(0)
    basis = rng.standard_normal((64, d), dtype=np.float32)
    x = np.empty((n, d), np.float32)
    for start in range(0, n, 500):  # low rank plus noise, like a layer; made in slices, so no transient copy
        rows = min(500, n - start)
        x[start:start + rows] = rng.standard_normal((rows, 64), dtype=np.float32) @ basis
        x[start:start + rows] += 0.1 * rng.standard_normal((rows, d), dtype=np.float32)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if variant == "before":
        previous = x.copy()  # the previous layer's inputs, kept for the identity check
        assert not np.array_equal(previous[:1] + 1, x[:1])
        pca = PCA(n_components=min(MAX_COMPONENTS, n, d), svd_solver="randomized", random_state=0).fit(x)
        features = pca.transform(x)
    else:
        identity = IdentityCheck(lambda _: x)
        identity.same_as_previous(0, x)
        features = pca_layer(x, overwrite=True).features
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"variant": variant, "n": n, "d": d, "inputs_mb": round(x.nbytes / 2 ** 20),
            "peak_above_inputs_mb": round(peak - baseline), "seconds": round(seconds, 2),
            "components": int(features.shape[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=7000)
    parser.add_argument("--d", type=int, default=4096)
    parser.add_argument("--variant", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.n, args.d)))
        return
    for variant in VARIANTS:
        out = subprocess.run([sys.executable, "-m", "benchmarks.reduction_memory", "--n", str(args.n),
                              "--d", str(args.d), "--variant", variant], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{variant:>6}: peak {result['peak_above_inputs_mb']} MB above the inputs "
              f"({result['inputs_mb']} MB), {result['seconds']} s, {result['components']} components kept")


if __name__ == "__main__":
    main()
