"""The training engine.

One fit body, the skorch net, callbacks, training data and the task mixins.
"""
