"""Peak memory of ``fit`` relative to the size of X.

Each case runs in a fresh Python process: it makes X, warms up (imports, a small
fit), resets the peak resident set size (Linux ``VmHWM``), fits
MultiTaskClassifier((16,), max_epochs=1) on the whole X and notes the peak again.
The difference is the extra memory ``fit`` needed on top of X; the resident
memory left after ``del model; gc.collect()`` is noted too. For a float64 X the
floor is one float32 copy (half of X): the network reads a float32 copy of
X, quantile-scaled, for float32 X as well.

Run alone: ``python benchmarks/memory.py [--quick]``.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TITLE = "Memory: peak extra memory of fit vs the size of X"

CASES = {
    "dense float64": dict(kind="dense", dtype="float64"),
    "dense float64, early stopping": dict(
        kind="dense", dtype="float64", early_stopping=True
    ),
    "dense float32": dict(kind="dense", dtype="float32"),
    "sparse CSR float64 (0.5% non-zero)": dict(kind="sparse", dtype="float64"),
    # The default model (early stopping on above 10,000 rows) on 500,000 x 50.
    "dense float32, defaults": dict(
        kind="dense", dtype="float32", defaults=True, shape=(500_000, 50)
    ),
}


def _status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak():
    """Reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(case, n_samples, n_features):
    """Measure one case in this process; print a JSON line."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from sk_mtl import MultiTaskClassifier

    torch.set_num_threads(1)
    spec = CASES[case]
    n_samples, n_features = spec.get("shape", (n_samples, n_features))
    rng = np.random.default_rng(0)
    if spec["kind"] == "sparse":
        n_features *= 20
        X = sp.random(
            n_samples, n_features, density=0.005, format="csr", random_state=0
        ).astype(spec["dtype"])
        x_mb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
        dense_mb = n_samples * n_features * 4 / 2**20
    else:
        X = rng.standard_normal((n_samples, n_features)).astype(spec["dtype"])
        x_mb = X.nbytes / 2**20
        dense_mb = x_mb * 4 / X.itemsize
    y = (np.asarray(X[:, 0].todense()).ravel() if sp.issparse(X) else X[:, 0]) > 0
    params = dict(
        max_epochs=1,
        batch_size=512,
        random_state=0,
        early_stopping=spec.get("early_stopping", False),
    )
    args = ((16,),)
    if spec.get("defaults"):
        args, params = (), dict(max_epochs=1, random_state=0)
    MultiTaskClassifier(*args, **params).fit(X[:2000], y[:2000])  # warm-up
    gc.collect()
    _reset_peak()
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    model = MultiTaskClassifier(*args, **params).fit(X, y)
    seconds = time.perf_counter() - start
    extra = _status_mb("VmHWM") - before
    del model
    gc.collect()
    kept = _status_mb("VmRSS") - before
    print(
        json.dumps(
            dict(
                case=case,
                shape=list(X.shape),
                x_mb=x_mb,
                float32_dense_mb=dense_mb,
                extra_mb=extra,
                kept_mb=kept,
                seconds=seconds,
            )
        )
    )


def measure(n_samples, n_features):
    rows = []
    root = Path(__file__).resolve().parent.parent
    for case in CASES:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                case,
                str(n_samples),
                str(n_features),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"},
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def run(data_home=None, quick=False, out_dir=None):
    """Measure every case and return the markdown section."""
    n_samples, n_features = (50_000, 50) if quick else (200_000, 100)
    rows = measure(n_samples, n_features)
    load = os.getloadavg()[0]
    lines = [
        f"## {TITLE}",
        "",
        "Peak resident memory of `MultiTaskClassifier((16,), max_epochs=1, "
        "batch_size=512).fit(X, y)` above the resident memory before the call (X "
        "made, a warm-up fit done, the peak counter reset), one fresh process per "
        "row, Linux `VmHWM`; one run "
        f"each, load average {load:.1f} on a shared 2-core machine. Reproduce: "
        "`python benchmarks/memory.py`.",
        "",
        "| X | shape | size of X (MiB) | extra peak in fit (MiB) | extra / size of X "
        "| still resident after `del model` (MiB) | X as dense float32 (MiB) "
        "| fit (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['shape'][0]:,} x {r['shape'][1]:,} | "
            f"{r['x_mb']:.0f} | {r['extra_mb']:.0f} | "
            f"{r['extra_mb'] / r['x_mb']:.2f} | {r['kept_mb']:.0f} | "
            f"{r['float32_dense_mb']:.0f} | "
            f"{r['seconds']:.1f} |"
        )
    lines += [
        "",
        "Dense X costs one float32 copy, the quantile-scaled X the network reads "
        "(0.5x a float64 X, 1x a float32 X; X itself is never changed), and little "
        "more, early stopping included: the training and validation rows are read "
        "through an index, a batch at a time, not copied. Sparse X is read as "
        "given and stays sparse (a float32 copy of its non-zeros); each batch is "
        "made dense when the network reads it, so the dense matrix of the last "
        "column is never held.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "N", "D"))
    args = parser.parse_args(argv)
    if args.child:
        case, n, d = args.child
        child(case, int(n), int(d))
        return
    print(run(quick=args.quick))


if __name__ == "__main__":
    main()
