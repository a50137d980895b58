"""The data layer: what X is (inputs) and what y is (tasks).

Validated, remembered and turned into tensors.
"""
