"""Per-batch training cost vs the number of tasks: fused heads vs one head per task.

One training step (forward, the engine's ``MultiTaskLoss``, backward, Adam step)
of the same network, with its task heads built the simple way (one
``nn.Linear`` per task; for TabM one tabm ``LinearEnsemble`` per task; for MMoE one
gate and one head per task, looped; one loss call per task) and as sk_mtl builds
them now (one ``FusedHeads`` for all tasks, whose outputs the loss scores in one
op when the tasks share a width). 1 thread, 1, 3, 6 and 12 binary tasks, batch 128;
the two variants alternate inside one process and the table gives the median over
repeats of the milliseconds per step. The last column is the whole
``MultiTaskClassifier.fit`` (validation, skorch loop, callbacks) per batch.

Run alone: ``python -m benchmarks.task_count [--quick]``.
"""

import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

from benchmarks.speed import _load
from sk_mtl import MultiTaskClassifier
from sk_mtl.losses import MultiTaskLoss
from sk_mtl.modules import MLP, MMoE, MultiHeadNetwork

TITLE = "Per-batch training cost vs the number of tasks (fused heads)"
N_FEATURES = 100
HIDDEN = (256, 256)
BATCH = 128
TASKS = (1, 3, 6, 12)


class PerTaskHeads(nn.Module):
    """The reference: the network with one head module per task, looped."""

    def __init__(self, network, n_tasks):
        super().__init__()
        self.network = network
        if isinstance(network, MultiHeadNetwork):
            self.heads = nn.ModuleList(
                nn.Linear(network.out_features, 2) for _ in range(n_tasks)
            )
        elif isinstance(network, MMoE):
            width, n_in = network.expert_units, network.gates.in_features
            self.heads = nn.ModuleList(nn.Linear(width, 2) for _ in range(n_tasks))
            self.gates = nn.ModuleList(
                nn.Linear(n_in, network.n_experts) for _ in range(n_tasks)
            )
        else:  # MemberEnsemble
            import tabm

            k, width = network.n_members, network.out_features
            self.heads = nn.ModuleList(
                tabm.LinearEnsemble(width, 2, k=k) for _ in range(n_tasks)
            )
        network.heads = None  # the network's fused heads (and gates) are unused
        if isinstance(network, MMoE):
            network.gates = None

    def forward(self, X):
        net = self.network
        if isinstance(net, MultiHeadNetwork):
            z = net.trunk(X)
            return tuple(head(z) for head in self.heads)
        if isinstance(net, MMoE):
            experts = net.experts(X)
            out = []
            for gate, head in zip(self.gates, self.heads):
                g = torch.softmax(gate(X), dim=1)
                out.append(head(torch.einsum("be,ebu->bu", g, experts)))
            return tuple(out)
        z = net.member_features(X)
        return tuple(head(z) for head in self.heads)


def make_network(kind, n_tasks):
    if kind == "mlp":
        return MultiHeadNetwork(MLP(N_FEATURES, HIDDEN), [2] * n_tasks)
    if kind == "mmoe":
        return MMoE(N_FEATURES, (64,), [2] * n_tasks, n_experts=4)
    if kind == "mmoe_default":  # the estimators' architecture="mmoe" defaults
        return MMoE(N_FEATURES, (128, 64), [2] * n_tasks, n_experts=4)
    from sk_mtl.ensembles import MemberEnsemble

    return MemberEnsemble(N_FEATURES, HIDDEN, [2] * n_tasks, n_members=16)


def make_step(module, n_tasks, seed=0, loss_per_task=False):
    """A closure running one training step on a fixed random batch.

    ``loss_per_task`` scores the tasks one loss call each, the simple way;
    otherwise tasks of one width are scored in one op."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(BATCH, N_FEATURES, generator=gen)
    y = torch.randint(0, 2, (BATCH, n_tasks), generator=gen)
    criterion = MultiTaskLoss(n_tasks)
    if hasattr(getattr(module, "network", module), "n_members"):
        from sk_mtl.ensembles import MemberAveragedLoss

        criterion = MemberAveragedLoss(n_tasks)
    if loss_per_task:
        criterion._stackable = False
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    module.train()

    def step():
        total, _ = criterion(module(X), y)
        opt.zero_grad()
        total.backward()
        opt.step()

    return step


def ms_per_step(step, n_steps):
    start = time.perf_counter()
    for _ in range(n_steps):
        step()
    return 1000 * (time.perf_counter() - start) / n_steps


def fit_ms_per_batch(n_tasks, n_samples, epochs=2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, N_FEATURES)).astype(np.float32)
    Y = (X[:, :n_tasks] > 0).astype(int)
    clf = MultiTaskClassifier(
        HIDDEN, batch_size=BATCH, max_epochs=epochs, n_threads=1, random_state=0
    )
    start = time.perf_counter()
    clf.fit(X, Y if n_tasks > 1 else Y[:, 0])
    n_batches = epochs * -(-n_samples // BATCH)
    return 1000 * (time.perf_counter() - start) / n_batches


def measure(kind, n_tasks, n_steps, repeats):
    """Median ms per step of the per-task and fused variants, alternating."""
    torch.manual_seed(0)
    fused = make_network(kind, n_tasks)
    torch.manual_seed(0)
    looped = PerTaskHeads(make_network(kind, n_tasks), n_tasks)
    steps = {
        "looped": make_step(looped, n_tasks, loss_per_task=True),
        "fused": make_step(fused, n_tasks),
    }
    for step in steps.values():  # warm-up
        ms_per_step(step, 3)
    times = {name: [] for name in steps}
    for repeat in range(repeats):
        order = list(steps) if repeat % 2 else list(steps)[::-1]
        for name in order:
            times[name].append(ms_per_step(steps[name], n_steps))
    return {name: statistics.median(t) for name, t in times.items()}


def growth(kind, n_steps, repeats):
    """Median over repeats of the step time at the most tasks over the step at
    one task, fused heads, the two stepping in turn (a change of the machine's
    load between the two cancels out)."""
    lo, hi = TASKS[0], TASKS[-1]
    steps = {}
    for n_tasks in (lo, hi):
        torch.manual_seed(0)
        steps[n_tasks] = make_step(make_network(kind, n_tasks), n_tasks)
        ms_per_step(steps[n_tasks], 3)  # warm-up
    ratios = []
    for repeat in range(repeats):
        order = (lo, hi) if repeat % 2 else (hi, lo)
        t = {n: ms_per_step(steps[n], n_steps) for n in order}
        ratios.append(t[hi] / t[lo])
    return statistics.median(ratios)


def run(data_home=None, quick=False, out_dir=None):
    """Run the benchmark and return its markdown section."""
    repeats = 5 if quick else 9
    started = time.perf_counter()
    load_before = os.getloadavg()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    kinds = [("mlp", 200), ("mmoe", 200), ("mmoe_default", 200)]
    try:
        import tabm  # noqa: F401

        kinds.append(("tabm", 20 if quick else 40))
    except ImportError:
        pass
    rows = []
    try:
        for kind, n_steps in kinds:
            for n_tasks in TASKS:
                r = measure(kind, n_tasks, n_steps // (2 if quick else 1), repeats)
                fit = None
                if kind == "mlp":
                    n = 5_000 if quick else 20_000
                    fit = statistics.median(
                        fit_ms_per_batch(n_tasks, n) for _ in range(3)
                    )
                rows.append((kind, n_tasks, r, fit))
        ratios = {
            kind: growth(kind, n_steps // 4, 11 if quick else 21)
            for kind, n_steps in kinds
        }
    finally:
        torch.set_num_threads(previous)
    load_after = os.getloadavg()
    names = {
        "mlp": f"shared-bottom MLP {N_FEATURES}-{'-'.join(map(str, HIDDEN))}",
        "mmoe": f"MMoE, 4 experts of 64 units, {N_FEATURES} inputs",
        "mmoe_default": f"MMoE, 4 experts of 128-64 units (defaults), {N_FEATURES} "
        "inputs",
        "tabm": f"TabM-mini, k=16, MLP {N_FEATURES}-{'-'.join(map(str, HIDDEN))}",
    }
    lines = [
        f"## {TITLE}",
        "",
        "Milliseconds per training step (forward, the engine's loss, backward, Adam "
        f"step) at batch {BATCH}, 1 thread, binary tasks: the heads as one module "
        "per task, called in a loop and each task's loss computed on its own (how "
        "sk_mtl built them before issue 10), and as one `FusedHeads` (one matmul "
        "for every task; MMoE: one matmul for all gates, then every head on every "
        "expert's output in one matmul, mixed by the gates; TabM: one batched "
        "matmul for all tasks and members) whose "
        "outputs the loss scores in one op (tasks of one width). "
        f"Median of {repeats} alternating repeats; *fit* is "
        "a whole `MultiTaskClassifier.fit` (shared-bottom, fused heads) divided by "
        "its number of batches, median of 3 fits.",
        "",
        "| network | tasks | per-task heads (ms/step) | fused heads (ms/step) "
        "| per-task / fused | fit, ms per batch |",
        "|---|---|---|---|---|---|",
    ]
    for kind, n_tasks, r, fit in rows:
        cells = [
            names[kind],
            n_tasks,
            f"{r['looped']:.2f}",
            f"{r['fused']:.2f}",
            f"{r['looped'] / r['fused']:.2f}x",
            "—" if fit is None else f"{fit:.2f}",
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lo, hi = TASKS[0], TASKS[-1]
    lines += [
        "",
        f"Growth from {lo} to {hi} tasks, fused heads: the median over "
        f"{11 if quick else 21} repeats of the {hi}-task step over the {lo}-task "
        "step, the two networks stepping in turn (so that a change in the "
        "machine's load between them cancels out); the table's columns come from "
        "separate measurements per task count.",
        "",
    ]
    for kind in dict.fromkeys(k for k, *_ in rows):
        r = {n: rr for k, n, rr, _ in rows if k == kind}
        lines.append(
            f"- {names[kind]}: {hi} tasks cost **{ratios[kind]:.2f}x** the step of "
            f"{lo} (table: {r[hi]['fused'] / r[lo]['fused']:.2f}x fused, "
            f"{r[hi]['looped'] / r[lo]['looped']:.2f}x with per-task heads)."
        )
    lines += [
        "",
        f"Wall time of this section: {time.perf_counter() - started:.0f} s. Machine "
        f"load (1/5/15-min load average of {os.cpu_count()} cores, shared with other "
        f"jobs): {_load(load_before)} at the start, {_load(load_after)} at the end.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv[1:]))
