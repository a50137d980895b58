"""Size of a saved model: pickle and ``sk_mtl.save`` vs the raw float32 weights.

MultiTaskClassifier (default (128, 64) trunk, 20 features, 10 epochs of Adam), a
FineTuner of it, and a weight-space merge of three FineTuners of that source.
"Raw weights" counts the parameters of the predicting network once (4 bytes each).

Run alone: ``python benchmarks/model_size.py``.
"""

import os
import pickle
import sys
import tempfile
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import sk_mtl
from sk_mtl import FineTuner, MultiTaskClassifier, merge_models

TITLE = "Model size: pickle and sk_mtl.save vs the raw weights"


def _raw(model):
    return sum(p.numel() * p.element_size() for p in model.module_.parameters())


def _models():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    source = MultiTaskClassifier(max_epochs=10, random_state=0).fit(X, y)
    tuned = [
        FineTuner(source, max_epochs=5, random_state=s).fit(X, y) for s in range(3)
    ]
    return {
        "MultiTaskClassifier": source,
        "FineTuner (its source inside)": tuned[0],
        "3-member weight-space merge (members and source inside)": merge_models(
            tuned, space="weights"
        ),
    }


def run(data_home=None, quick=False, out_dir=None):
    """Measure the sizes and return the markdown section."""
    warnings.simplefilter("ignore")
    lines = [
        f"## {TITLE}",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        "One run; reproduce with `python benchmarks/model_size.py`.",
        "",
        "| model | raw weights (bytes) | pickle (bytes) | pickle / raw "
        "| sk_mtl.save (bytes) | save / raw |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.skmtl")
        for name, model in _models().items():
            raw = _raw(model)
            pickled = len(pickle.dumps(model))
            sk_mtl.save(model, path)
            saved = os.path.getsize(path)
            lines.append(
                f"| {name} | {raw:,} | {pickled:,} | {pickled / raw:.2f} | "
                f"{saved:,} | {saved / raw:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
