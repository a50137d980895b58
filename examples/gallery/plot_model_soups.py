"""
==========================================
Model soups: averaging fine-tuned weights
==========================================

Several models fine-tuned from one source, with different hyper-parameters,
usually stay in one basin of the loss. Averaging their *weights* (a "model
soup", Wortsman et al., ICML 2022) then gives one network that is typically
better than the average member and close to the best one, at the inference cost
of a single model, without having to know in advance which member is best.
:func:`~sk_mtl.merge_models` does it with ``space="weights"``; with
``space="output"`` it averages the members' probabilities instead (an
ensemble, which runs every member).

The setting is the digits one of the fine-tuning example: a source trained on
digit identity, fine-tuned to the parity of digits from 60 labelled images.
"""

# %%
# The ingredients: one source, several fine-tunings
# -------------------------------------------------
# The members share ``random_state`` (so their new heads start equal) and
# differ in learning rate: the recipe that keeps them in one basin.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sk_mtl import FineTuner, MultiTaskClassifier, merge_models

X, y = load_digits(return_X_y=True)
X = X / 16.0
old, new = train_test_split(
    np.arange(len(y)), test_size=0.5, stratify=y, random_state=0
)
source = MultiTaskClassifier((64,), max_epochs=40, lr=3e-3, random_state=0)
source.fit(X[old], y[old])

parity = y % 2
rng = np.random.default_rng(0)
labelled = rng.choice(new, 60, replace=False)
rest = rng.permutation(np.setdiff1d(new, labelled))
valid, test = rest[:200], rest[200:]  # valid: only for the learned soup's weights

lrs = [3e-3, 1e-2, 2e-2, 5e-2]
members = [
    FineTuner(source, max_epochs=20, lr=lr, random_state=0).fit(
        X[labelled], parity[labelled]
    )
    for lr in lrs
]
member_scores = [m.score(X[test], parity[test]) for m in members]
for lr, score in zip(lrs, member_scores):
    print(f"member lr={lr:g}: {score:.3f}")

# %%
# Soups and an ensemble
# ---------------------
# ``merge_models`` returns a fitted :class:`~sk_mtl.MergedClassifier`. With
# ``weights="fit"`` the weights on the simplex are chosen on held-out data to
# minimise the merged model's log-loss (the "learned soup").

merged = {
    "uniform soup\n(weights)": merge_models(members, space="weights"),
    "learned soup\n(weights)": merge_models(
        members, "fit", space="weights", X=X[valid], y=parity[valid]
    ),
    "ensemble\n(outputs)": merge_models(members, space="output"),
}
merged_scores = {name: m.score(X[test], parity[test]) for name, m in merged.items()}
for name, score in merged_scores.items():
    print(f"{name.replace(chr(10), ' ')}: {score:.3f}")
print("learned soup weights:", np.round(merged["learned soup\n(weights)"].weights_, 2))

# %%
# Members against merged models
# -----------------------------
# The soups are single networks; the ensemble runs all four members at predict
# time. Averaging only works for models fine-tuned from one source: independently
# trained networks average to garbage and should be merged in output space.

fig, ax = plt.subplots(figsize=(7, 4))
labels = [f"member\nlr={lr:g}" for lr in lrs] + list(merged_scores)
values = member_scores + list(merged_scores.values())
colors = ["tab:gray"] * len(lrs) + ["tab:blue", "tab:green", "tab:orange"]
ax.bar(range(len(values)), values, color=colors)
ax.axhline(np.mean(member_scores), color="k", ls=":", label="mean of the members")
ax.set_xticks(range(len(values)), labels, fontsize=8)
ax.set_ylim(min(values) - 0.05, max(values) + 0.02)
ax.set_ylabel("test accuracy (parity)")
ax.set_title("Model soup: one network from four fine-tunings")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()
