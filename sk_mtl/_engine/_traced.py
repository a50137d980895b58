"""A traced forward pass for the repeated small predictions of a fitted network.

Called through ``nn.Module``, a small tabular network costs a few microseconds of
Python per layer and per op, more than its arithmetic on one row. From the second
prediction of a network on a dense CPU tensor on, :func:`forward_fn` runs a
``torch.jit.trace`` of it instead: the same aten ops, bitwise the same outputs,
without the Python. The trace shares the network's parameter and buffer tensors
(in-place updates, e.g. ``partial_fit``, are seen) and is checked against the
network once, on one and on three rows; a network that cannot be traced, warns
while traced or disagrees is called as usual from then on. Tracing costs tens
of milliseconds once, in the second call (35-60 ms for the default MLP on a
2-core machine); a single prediction never pays it. Its warnings (torch's
deprecation of ``torch.jit.trace``, the tracer's) are caught, with
``warnings.catch_warnings``, which is process-wide: a warning another thread
raises in those milliseconds is caught too. Where ``torch.jit.trace`` is gone
(a future torch), every network is called as a module.

Only networks made of torch's, sk_mtl's and the ``tabm`` package's modules are
traced: a user's module may have effects in Python (a counter, a log) that a
trace would skip, so it is always called. The trace is only used while the
network is as it was traced: the same
submodules, parameters and buffers (same objects, same memory), no forward hooks
(a trace would skip them) and every submodule in eval mode; any change sends the
call through the module again and the next call re-traces. Dict inputs (text,
tabular parts), row-batch views and other devices always call the module.
"""

import itertools
import operator
import os
import threading
import warnings
import weakref

import torch
from torch.nn.modules import module as _nn_module

__all__ = ["forward_fn", "layout"]

# Per network (weakly held: dropped with it), its :class:`_Layout`.
_LAYOUTS = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _new_lock():
    """A forked child's own lock (a thread of the parent may have held it)."""
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock)


class _Layout:
    """What a network is made of, to tell cheaply whether it changed.

    Holds every submodule but the root (so their ids stay theirs), each one's
    module, parameter and buffer dicts with a snapshot of their values, and the
    memory address of every parameter and buffer; the checks run in C
    (``map``), not in a Python loop. ``trace`` is None until traced, then the
    traced network or False (not traceable); ``forward`` is the trace's forward
    method, or None.
    """

    def __init__(self, module):
        modules = tuple(module.modules())
        self.submodules = modules[1:]
        self.dicts = [
            d for m in modules for d in (m._modules, m._parameters, m._buffers)
        ]
        self.sizes = list(map(len, self.dicts))
        self.values = tuple(_values(self.dicts))
        self.tensors = [v for v in self.values if isinstance(v, torch.Tensor)]
        self.pointers = list(map(_data_ptr, self.tensors))
        self.calls = 0
        # Only networks made of known pure modules are traced: a user's module
        # may count, log or cache in Python, which a trace would skip.
        pure = all(type(m).__module__.partition(".")[0] in _PURE for m in modules)
        self.trace = None if pure else False
        self.forward = None

    def modules(self, module):
        """The network's modules, root first."""
        return (module, *self.submodules)

    def unchanged(self):
        """Whether the network still has the submodules and tensors seen here."""
        return (
            list(map(len, self.dicts)) == self.sizes
            and all(map(operator.is_, _values(self.dicts), self.values))
            and list(map(_data_ptr, self.tensors)) == self.pointers
        )

    def training(self, module):
        """Whether any of the network's modules is in training mode."""
        return module.training or any(map(_training, self.submodules))

    def hooked(self, module):
        """Whether any forward hook would run (the trace would skip it)."""
        if _nn_module._global_forward_hooks or _nn_module._global_forward_pre_hooks:
            return True
        modules = self.modules(module)
        return any(map(_hooks, modules)) or any(map(_pre_hooks, modules))


# Packages whose modules compute their outputs from their inputs and nothing
# else (no Python side effects): torch's layers, sk_mtl's and the tabm package's.
_PURE = frozenset({"torch", "sk_mtl", "tabm"})


def _values(dicts):
    return itertools.chain.from_iterable(map(dict.values, dicts))


_data_ptr = torch.Tensor.data_ptr
_training = operator.attrgetter("training")
_hooks = operator.attrgetter("_forward_hooks")
_pre_hooks = operator.attrgetter("_forward_pre_hooks")


def layout(module):
    """The :class:`_Layout` of ``module``, made anew when the network changed."""
    found = _LAYOUTS.get(module)
    if found is not None and found.unchanged():
        return found
    with _LOCK:
        found = _LAYOUTS[module] = _Layout(module)
    return found


def forward_fn(module, Xb, found):
    """What to call for ``module(Xb)``: its trace when usable, else the module.

    ``found`` is the network's :func:`layout`, already checked unchanged and in
    eval mode by the caller; runs under ``torch.inference_mode``.
    """
    if not isinstance(Xb, torch.Tensor) or not Xb.is_cpu or found.hooked(module):
        return module
    found.calls += 1
    if found.trace is None and found.calls >= 2:
        with _LOCK:
            if found.trace is None:
                found.trace = _trace(module, Xb)
                # The trace's own method (looked up once: a ScriptModule's
                # attributes are found in Python): nn.Module's call machinery
                # is skipped too (the traced copy has no hooks).
                found.forward = found.trace.forward if found.trace else None
    return found.forward or module


def _trace(module, Xb):
    """A checked trace of ``module`` for inputs like ``Xb``, or False."""
    trace = getattr(torch.jit, "trace", None)
    with torch.inference_mode(False), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = Xb[:1].clone()  # a normal tensor (not an inference one)

        def rows(n):
            return row.expand(n, *row.shape[1:]).clone()

        try:
            with torch.no_grad():
                traced = trace(module, rows(2))
                agree = all(_same(module(x), traced(x)) for x in (row, rows(3)))
        except Exception:  # untraceable: the module is called as usual
            return False
    warned = any(issubclass(w.category, torch.jit.TracerWarning) for w in caught)
    return traced if agree and not warned else False


def _same(expected, got):
    """Whether two outputs (a tensor or a tuple/list of them) are bitwise equal."""
    if isinstance(expected, torch.Tensor):
        return isinstance(got, torch.Tensor) and torch.equal(expected, got)
    if not isinstance(expected, tuple | list) or not isinstance(got, tuple | list):
        return False
    return len(expected) == len(got) and all(map(_same, expected, got))
