"""Pickles that name the flat layout's private module paths still load."""

import importlib
import pickle
import pickletools

import numpy as np
import pytest

import sk_mtl
from sk_mtl import MultiTaskClassifier
from sk_mtl._moved_modules import MOVED_CLASSES, OLD_TO_NEW


def _pickle_naming(obj, old_module):
    """``pickle.dumps(obj)`` with its class recorded under ``old_module``."""
    cls = type(obj)
    new_module = cls.__module__
    cls.__module__ = old_module
    try:
        data = pickle.dumps(obj)
    finally:
        cls.__module__ = new_module
    return data


def test_every_new_module_exists():
    for old, new in OLD_TO_NEW.items():
        assert importlib.import_module(new).__name__ == new, old


def test_fitted_model_pickled_under_old_path_loads():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = MultiTaskClassifier((4,), max_epochs=2, random_state=0).fit(X, y)
    data = _pickle_naming(clf, "sk_mtl._multitask")
    assert "sk_mtl._multitask" in str(list(pickletools.genops(data)))
    loaded = pickle.loads(data)
    assert type(loaded) is MultiTaskClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("old", sorted(OLD_TO_NEW))
def test_old_path_reads_the_new_module(old):
    module = importlib.import_module(old)
    new = importlib.import_module(OLD_TO_NEW[old])
    public = [n for n in getattr(new, "__all__", []) if not n.startswith("_")]
    for name in public:
        assert getattr(module, name) is getattr(new, name)


def test_moved_class_is_found_under_its_old_module():
    for (old, name), new in MOVED_CLASSES.items():
        module = importlib.import_module(old)
        assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_unknown_name_under_old_path_is_an_attribute_error():
    module = importlib.import_module("sk_mtl._multitask")
    with pytest.raises(AttributeError):
        module.NoSuchThing  # noqa: B018
    assert sk_mtl.MultiTaskClassifier is module.MultiTaskClassifier
