"""Run sk_mtl's benchmarks and assemble ``benchmarks/RESULTS.md``.

Usage (from the repository root)::

    python -m benchmarks.run                    # every default benchmark (make bench)
    python -m benchmarks.run --quick            # minutes-long subset (make bench-quick)
    python -m benchmarks.run --only census_mtl  # one benchmark; others keep their file
    python -m benchmarks.run --data /path/to/data

The data folder is ``--data``, else ``$SK_MTL_DATA``, else ``../shared/data``.

Registry
--------
A benchmark is a module ``benchmarks/<name>.py`` listed in :data:`REGISTRY` that
exposes::

    TITLE: str                                  # one line
    def run(data_home, quick, out_dir) -> str:  # a markdown section

``run`` returns its section (start it with ``## TITLE``; use ``###`` below that),
may write raw results (CSV, ...) into ``out_dir`` and writes PNGs to the path
given by :func:`benchmarks._common.figure_path` (``docs/_static/<name>.png`` on full
runs, ``out_dir`` on quick runs) and links them in markdown as
``![alt](../docs/_static/<name>.png)``. Optional ``DEFAULT = False`` keeps a
module out of the default run (``--only`` still runs it). A listed module that
does not exist yet is skipped with a note.

The runner writes each section to ``out_dir/<name>.md`` with a line saying how it
was produced (command, wall time, date), then assembles RESULTS.md from every
section file present, in registry order, so one benchmark can be re-run alone.
Full runs also write ``docs/benchmark_results.inc``, the same content in
reStructuredText, included by ``docs/benchmarks.rst``. Quick runs write everything
under ``benchmarks/_cache/quick/`` so they never overwrite the committed results.
"""

import argparse
import datetime
import importlib
import os
import platform
import shlex
import sys
import time

from ._common import BENCH_DIR, CACHE_DIR, RESULTS_DIR, ROOT, limit_threads
from ._mdrst import markdown_to_rst

# name -> module under benchmarks/, in the order of RESULTS.md.
REGISTRY = (
    "census_mtl",
    "missing_labels",
    "trec_mtl",
    "trec_finetune",
    "speed",
    "task_count",
    "hard_example_mining",
    "transfer_digits",
    "transfer_text",
    "text_fewshot",
    "census_tuning",
    "memory",
    "model_size",
    "scale_out",
    "tabular",
    "tabular_study",
    "mmoe_synthetic",
    "census_mixed",
    "census_tabular",
)

# Benchmarks run alone (long, or timing that needs a quiet machine), each with
# its own command line; their scripts write ``results/<name>.md`` themselves,
# and RESULTS.md includes those files after the registry's sections, every
# heading one level down.
STANDALONE = (
    "tabular_suite",
    "census_defaults",
    "census_defaults_validation",
    "latency",
    "threads",
)

RESULTS_MD = BENCH_DIR / "RESULTS.md"
DOCS_INC = ROOT / "docs" / "benchmark_results.inc"
QUICK_DIR = CACHE_DIR / "quick"


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import sklearn
    import torch

    import sk_mtl

    return (
        f"{cpu}, {os.cpu_count()} logical cores (shared with other jobs), "
        f"{platform.system()} {platform.release()}; Python "
        f"{platform.python_version()}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, sk_mtl {sk_mtl.__version__}; "
        f"{os.environ.get('OMP_NUM_THREADS', '?')} thread(s) per model"
    )


def timestamp():
    """Now, as the results files show it (``2026-12-01 14:20 UTC``)."""
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def write_section(out_dir, name, section, produced_by, machine=None):
    """Write a benchmark's markdown ``section`` to ``out_dir/<name>.md``.

    Its title comes first, then the line saying how it was produced
    (``produced_by``) and on which machine; returns the file's path.
    """
    title, *body = section.strip().split("\n", 1)
    meta = f"*{produced_by}. Machine: {machine or _machine()}.*"
    path = out_dir / f"{name}.md"
    path.write_text("\n\n".join([title, meta, *body]) + "\n")
    return path


def _load(name):
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"benchmarks.{name}":
            return None
        raise


def _command(argv):
    return "python -m benchmarks.run" + "".join(" " + shlex.quote(a) for a in argv)


def _one_level_down(markdown):
    """Markdown with every heading one level deeper (``#`` becomes ``##``)."""
    lines, fenced = [], False
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        lines.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(lines)


def assemble(out_dir, results_md, docs_inc=None, note=""):
    """Concatenate the section files present in ``out_dir`` into RESULTS.md."""
    parts = []
    for name in REGISTRY:
        path = out_dir / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().strip())
    for name in STANDALONE:
        path = out_dir / f"{name}.md"
        if path.exists():
            parts.append(_one_level_down(path.read_text().strip()))
    header = (
        "# sk_mtl benchmark results\n\n"
        "Generated by `benchmarks/run.py` (`make bench`); every number and figure "
        "below is written by the benchmark scripts, never by hand. Each section "
        "says the command, wall time and machine that produced it. Re-run one "
        "section with `python -m benchmarks.run --only NAME`."
        + (f"\n\n{note}" if note else "")
    )
    text = "\n\n".join([header, *parts]) + "\n"
    results_md.write_text(text)
    if docs_inc is not None:
        body = "\n\n".join(parts)
        docs_inc.parent.mkdir(parents=True, exist_ok=True)
        docs_inc.write_text(
            ".. Generated by benchmarks/run.py from benchmarks/results/*.md; "
            "do not edit.\n\n" + markdown_to_rst(body, image_prefix="../docs/")
        )
    return text


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--data",
        default=None,
        help="data folder (default: $SK_MTL_DATA, else ../shared/data)",
    )
    parser.add_argument("--quick", action="store_true", help="minutes-long subset")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the per-model results saved in benchmarks/_cache by an "
        "interrupted run with the same configuration",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="NAME",
        help=f"run only this benchmark (repeatable); one of {', '.join(REGISTRY)}",
    )
    args = parser.parse_args(argv)
    threads = limit_threads()
    if args.resume:
        os.environ["SK_MTL_BENCH_RESUME"] = "1"

    from benchmarks.datasets import get_data_home

    data_home = str(get_data_home(args.data))
    if args.only:
        names = []
        for item in args.only:
            names += [n for n in item.split(",") if n]
        unknown = sorted(set(names) - set(REGISTRY))
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; known: {list(REGISTRY)}")
    else:
        names = list(REGISTRY)

    out_dir = QUICK_DIR / "results" if args.quick else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    command = _command(argv)
    machine = _machine()
    print(f"data: {data_home}\nresults: {out_dir}\nthreads per model: {threads}")
    total = time.perf_counter()
    for name in names:
        module = _load(name)
        if module is None:
            print(f"[{name}] benchmarks/{name}.py does not exist yet: skipped")
            continue
        if not args.only and not getattr(module, "DEFAULT", True):
            continue
        print(f"[{name}] {getattr(module, 'TITLE', name)}")
        start = time.perf_counter()
        section = module.run(data_home, args.quick, out_dir)
        wall = time.perf_counter() - start
        how = " (quick subset)" if args.quick else ""
        if args.resume:
            how += (
                ", reusing per-model results saved by earlier runs of the same "
                "configuration,"
            )
        produced_by = (
            f"Produced by `{command}`{how} in {wall / 60:.1f} min on {timestamp()}"
        )
        write_section(out_dir, name, section, produced_by, machine)
        print(f"[{name}] done in {wall / 60:.1f} min")

    if args.quick:
        results = assemble(
            out_dir,
            QUICK_DIR / "RESULTS.md",
            note="**Quick subset**: fewer seeds and models; not the published numbers.",
        )
        path = QUICK_DIR / "RESULTS.md"
    else:
        results = assemble(out_dir, RESULTS_MD, DOCS_INC)
        path = RESULTS_MD
    print(
        f"wrote {path} ({len(results.splitlines())} lines) in "
        f"{(time.perf_counter() - total) / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
