"""A callback that records a network's weights when training starts."""

from skorch.callbacks import Callback


class InitialState(Callback):
    """Calls ``record`` with a copy of ``state_dict()`` at each phase's start
    (``record`` is a list's append: the engine deep-copies user callbacks)."""

    def __init__(self, record):
        self.record = record

    def on_train_begin(self, net, **kwargs):
        state = net.module_.state_dict()
        self.record({k: v.detach().clone() for k, v in state.items()})


def initial_state(model, X, y):
    """Fit ``model`` on ``X, y``; return its weights when training started."""
    states = []
    model.set_params(callbacks=[InitialState(states.append)]).fit(X, y)
    return states[0]
