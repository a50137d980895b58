"""Placeholder tour; replaced by the MultiTaskClassifier demo."""

import sk_mtl

print("sk_mtl", sk_mtl.__version__)
