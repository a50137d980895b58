"""Tables of ``benchmarks/tabular_suite.py``, printed from its ``.jsonl`` rows."""

import json
from collections import defaultdict

import numpy as np

TIE = 0.002
SMALL_ROWS, LARGE_ROWS, COST_ROWS = 10_000, 20_000, 5_000


def read_rows(path):
    """Per-seed rows of a jsonl file; a later row replaces an earlier twin."""
    rows = {}
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            rows[(row["table"], row["seed"], row["model"])] = row
    return list(rows.values())


def table_means(rows):
    """``{table: {model: (mean score, CPU s per 1,000 rows)}}`` and table sizes.

    Only the seeds every model of a table has run are averaged.
    """
    by = defaultdict(lambda: defaultdict(dict))
    size = {}
    for r in rows:
        by[r["table"]][r["model"]][r["seed"]] = r
        size[r["table"]] = r["rows"]
    out = {}
    for table, models in by.items():
        seeds = set.intersection(*(set(s) for s in models.values()))
        if not seeds:
            continue
        size[table] = (size[table], len(seeds))
        out[table] = {
            m: (
                float(np.mean([s[k]["score"] for k in seeds])),
                float(np.mean([1000 * s[k]["cpu_s"] / s[k]["n_train"] for k in seeds])),
            )
            for m, s in models.items()
        }
    return out, {t: n for t, n in size.items() if isinstance(n, tuple)}


def _ranks(means, models):
    """Rank of each model per table (1 = best; ties share the mean rank)."""
    ranks = defaultdict(list)
    for scores in means.values():
        values = np.array([-scores[m][0] for m in models])
        order = values.argsort().argsort().astype(float) + 1
        for i, m in enumerate(models):
            order[i] = np.mean(order[values == values[i]])
            ranks[m].append(order[i])
    return {m: float(np.mean(r)) for m, r in ranks.items()}


def _normalised(means, models, low):
    """Mean over tables of (score - low model) / (best - low model).

    Tables where the best model is within a tie (:data:`TIE`) of the low one
    are left out: their scale would be noise (a best 0.0003 above the linear
    model makes a 0.06 gap count as -200).
    """
    out = defaultdict(list)
    for scores in means.values():
        best = max(scores[m][0] for m in models)
        base = scores[low][0]
        if best - base < TIE:
            continue
        for m in models:
            out[m].append((scores[m][0] - base) / (best - base))
    return {m: float(np.mean(v)) for m, v in out.items()}


def _md(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(x) for x in line) + " |" for line in lines]


def summary(rows, ours, low="linear"):
    """Markdown lines: per-table scores, ranks, normalised scores, W/T/L, cost.

    A table counts only where every model ran, on the seeds all of them ran;
    the targets' lines use the seeds that ``ours``, ``low`` and histgb ran.
    """
    means, size = table_means(rows)  # size: table -> (rows, seeds averaged)
    models = [ours] + sorted({m for s in means.values() for m in s} - {ours})
    means = {t: s for t, s in means.items() if set(s) == set(models)}  # complete
    tables = sorted(means, key=lambda t: size[t])
    lines = [
        [t, f"{size[t][0]:,}", size[t][1]] + [f"{means[t][m][0]:.4f}" for m in models]
        for t in tables
    ]
    out = _md(["table", "rows", "seeds", *models], lines) + [""]
    ranks, norm = _ranks(means, models), _normalised(means, models, low)
    cost = {m: float(np.median([means[t][m][1] for t in tables])) for m in models}
    out += _md(
        [
            "model",
            "mean rank",
            f"normalised ({low}=0, best=1)",
            "CPU s / 1k rows (median)",
        ],
        [[m, f"{ranks[m]:.2f}", f"{norm[m]:.3f}", f"{cost[m]:.2f}"] for m in models],
    )
    wtl = []
    for m in models[1:]:
        d = np.array([means[t][ours][0] - means[t][m][0] for t in tables])
        wtl.append(
            [
                m,
                int((d >= TIE).sum()),
                int((abs(d) < TIE).sum()),
                int((d <= -TIE).sum()),
            ]
        )
    out += [""] + _md([f"{ours} vs", "wins", "ties", "losses"], wtl)
    # the targets compare three models: on the seeds those three ran
    three = table_means([r for r in rows if r["model"] in (ours, low, "histgb")])
    return out + [""] + cost_table(*three, ours) + [""] + targets(*three, ours, low)


def cost_table(means, size, ours):
    """Markdown lines: per table, CPU s of fit per 1,000 training rows of
    ``ours`` and of histgb, and their ratio (no lines without histgb)."""
    tables = sorted((t for t in means if "histgb" in means[t]), key=lambda t: size[t])
    lines = []
    for t in tables:
        mine, hgb = means[t][ours][1], means[t]["histgb"][1]
        ratio = mine / max(hgb, 1e-9)
        lines.append(
            [t, f"{size[t][0]:,}", f"{mine:.3f}", f"{hgb:.3f}", f"{ratio:.1f}x"]
        )
    header = ["table", "rows", f"{ours} CPU s / 1k rows", "histgb CPU s / 1k rows"]
    return _md([*header, "ratio"], lines) if lines else []


def targets(means, size, ours, low):
    """The issue's targets, measured (lines of markdown)."""
    size = {t: n[0] for t, n in size.items()}
    out = []
    if low in next(iter(means.values())):
        small = [t for t in means if size[t] <= SMALL_ROWS]
        d = {t: means[t][ours][0] - means[t][low][0] for t in small}
        below = ", ".join(f"{t} {v:+.4f}" for t, v in sorted(d.items()) if v < -0.01)
        out.append(
            f"- Tables <= {SMALL_ROWS:,} rows ({len(small)}): {ours} - {low} = "
            f"{np.mean(list(d.values())):+.4f} on the mean; more than 0.01 below: "
            f"{below or 'none'}."
        )
    if "histgb" in next(iter(means.values())):
        large = [t for t in means if size[t] > LARGE_ROWS]
        if large:
            d = [means[t][ours][0] - means[t]["histgb"][0] for t in large]
            out.append(
                f"- Tables > {LARGE_ROWS:,} rows ({', '.join(sorted(large))}): "
                f"{ours} - histgb = {np.mean(d):+.4f} on the mean."
            )
        costly = sorted(t for t in means if size[t] > COST_ROWS)
        ratio = {
            t: means[t][ours][1] / max(means[t]["histgb"][1], 1e-9) for t in costly
        }
        out.append(
            f"- CPU time of fit, {ours} / histgb, tables > {COST_ROWS:,} rows: median "
            f"{np.median(list(ratio.values())):.1f}x, max {max(ratio.values()):.1f}x "
            f"({max(ratio, key=ratio.get)})."
        )
    return out


def report(path, md_path=None, ours="sk_mtl"):
    """Print the summary of ``path``; write it into ``md_path``'s results."""
    lines = summary(read_rows(path), ours)
    text = "\n".join(lines)
    print(text)
    if md_path is not None:
        marker = "<!-- results -->"
        head = md_path.read_text().split(marker)[0] if md_path.exists() else ""
        md_path.write_text(head + marker + "\n\n" + text + "\n")
