"""The private module paths of sk_mtl 0.1's flat layout, kept importable.

A pickle names each class by the module it was defined in. Files pickled before
the estimators moved into subpackages name paths such as
``sk_mtl._multitask.MultiTaskClassifier``; each old path is registered as an
alias of the module that now holds its code, so those pickles still load. Files
written by :func:`sk_mtl.save` name classes, not modules, and need none of this.
"""

import importlib
import sys
import types

OLD_TO_NEW = {
    "sk_mtl._runtime": "sk_mtl._runtime._device",
    "sk_mtl._threads": "sk_mtl._runtime._threads",
    "sk_mtl._malloc": "sk_mtl._runtime._malloc",
    "sk_mtl._tasks": "sk_mtl._data._tasks",
    "sk_mtl._inputs": "sk_mtl._data._inputs",
    "sk_mtl._tabular_input": "sk_mtl._data._tabular",
    "sk_mtl._base": "sk_mtl._engine._base",
    "sk_mtl._phases": "sk_mtl._engine._phases",
    "sk_mtl._net": "sk_mtl._engine._net",
    "sk_mtl._callbacks": "sk_mtl._engine._callbacks",
    "sk_mtl._training_data": "sk_mtl._engine._training_data",
    "sk_mtl._incremental": "sk_mtl._engine._incremental",
    "sk_mtl._options": "sk_mtl._engine._options",
    "sk_mtl._monitoring": "sk_mtl._engine._monitoring",
    "sk_mtl._classifier": "sk_mtl._engine._classifier_mixin",
    "sk_mtl._multitask": "sk_mtl.multitask._classifier",
    "sk_mtl._regressor": "sk_mtl.multitask._regressor",
    "sk_mtl._mixed": "sk_mtl.multitask._mixed",
    "sk_mtl._reuse": "sk_mtl.transfer._reuse",
    "sk_mtl._fine_tuning": "sk_mtl.transfer._fine_tuning",
    "sk_mtl._fine_tuning_regressor": "sk_mtl.transfer._fine_tuning_regressor",
    "sk_mtl._transfer": "sk_mtl.transfer._transfer",
    "sk_mtl._transfer_parts": "sk_mtl.transfer._transfer_parts",
    "sk_mtl._sources": "sk_mtl.transfer._sources",
    "sk_mtl._merge": "sk_mtl.transfer._merge",
    "sk_mtl._merging": "sk_mtl.transfer._merge_math",
    "sk_mtl._contrastive": "sk_mtl.transfer._contrastive",
    "sk_mtl._hard_example_mining": "sk_mtl.mining._hard_example_mining",
    "sk_mtl._mining": "sk_mtl.mining._hardness",
    "sk_mtl._out_of_fold": "sk_mtl.mining._out_of_fold",
    "sk_mtl._delegation": "sk_mtl.mining._delegation",
    "sk_mtl._text_encoder": "sk_mtl.text._loading",
    "sk_mtl._sentence_transformers": "sk_mtl.text._sentence_transformers",
    "sk_mtl._text_batching": "sk_mtl.text._batching",
    "sk_mtl._persistence": "sk_mtl._persistence._save_load",
    "sk_mtl._codec": "sk_mtl._persistence._codec",
    "sk_mtl._architecture": "sk_mtl._persistence._architecture",
    "sk_mtl._docs": "sk_mtl.utils._docs",
}


# Classes that left the module their old path maps to: (old path, name) -> module.
MOVED_CLASSES = {("sk_mtl._inputs", "TextInput"): "sk_mtl.text._input"}


def _old_path_module(old, new):
    """A module named ``old`` whose attributes are read from ``new`` on demand."""
    module = types.ModuleType(old, f"Old path of {new}, kept so old pickles load.")

    def __getattr__(name):
        target = MOVED_CLASSES.get((old, name), new)
        return getattr(importlib.import_module(target), name)

    module.__getattr__ = __getattr__
    return module


def install_aliases():
    """Register every old private path in ``sys.modules`` (nothing is imported)."""
    for old, new in OLD_TO_NEW.items():
        sys.modules.setdefault(old, _old_path_module(old, new))
