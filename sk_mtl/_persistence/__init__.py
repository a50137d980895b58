"""``save`` / ``load`` without pickle.

The object-tree codec and the network descriptions.
"""

from ._save_load import load, register_savable, save

__all__ = ["load", "register_savable", "save"]
