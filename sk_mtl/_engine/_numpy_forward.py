"""A few rows through the default network, computed with numpy.

At a served row's size a torch forward pass costs the dispatch of its operators,
not their arithmetic: one row through the default two-layer MLP with fused heads
takes about 43 us in torch and 13 us as the same float32 products in numpy (16
rows: 51 and 19 us; one thread, ``benchmarks/results/latency.md``). So
:func:`predict_outputs <sk_mtl._engine._inference.predict_outputs>` serves a
batch of at most :data:`NUMPY_MAX_ROWS` rows of a *plain MLP network* (a
:class:`~sk_mtl.modules.MultiHeadNetwork` over an :class:`~sk_mtl.modules.MLP` of
``Linear``, ``ReLU`` and ``Dropout`` layers, with :class:`~sk_mtl.modules.FusedHeads`
without members, float32 parameters on the CPU), alone or under the tabular
front-end of a DataFrame's columns without numeric embeddings (its categorical
embeddings are one table lookup), with :func:`numpy_outputs`, and every other
module, or a larger batch, with torch.

A forward hook on any of the network's modules (or a ``forward`` set on one of
them) sends the call to torch, which runs the hooks.

The numpy arrays are views of the parameters, never copies, found again on
every call by walking the network (a few dict lookups): an optimizer's
in-place update is read at once, and a replaced layer, head or parameter is
what the next call reads. The heads' split into tasks is the heads' own
(:meth:`FusedHeads.split <sk_mtl.modules.FusedHeads.split>`), so the outputs
have the torch path's types and shapes, and its values up to float32 rounding.
The members of a bagged model (networks of one shape, fed the same rows) are
served together by :func:`numpy_member_logits`: their parameters are stacked
(copied) once, so that one product per layer serves every member.
Above :data:`NUMPY_MAX_ROWS` rows, numpy's BLAS would start its own threads
(256 rows took 884 us against torch's 150 here), beside the thread count the
estimators choose for torch.
"""

import weakref

import numpy as np
import torch
from torch import nn
from torch.nn.modules.module import (
    _global_forward_hooks,
    _global_forward_pre_hooks,
)

from ..embeddings import CategoricalEmbeddings, TabularFrontEnd, TabularNetwork
from ..modules import MLP, FusedHeads, MultiHeadNetwork

__all__ = ["NUMPY_MAX_ROWS", "numpy_member_logits", "numpy_outputs"]

NUMPY_MAX_ROWS = 32


# Per plain MLP network seen (weakly held: dropped with the network), its numpy
# views and what they were read from.
_VIEWS = weakref.WeakKeyDictionary()


def _array(tensor):
    """A float32 CPU tensor as a numpy view; None for any other."""
    if tensor.dtype != torch.float32 or tensor.device.type != "cpu":
        return None
    return tensor.detach().numpy()


class _Views:
    """Numpy views of a plain MLP network's parameters, and the parameters
    (each with the dict it sits in and its storage address) they were read
    from, to tell on each call whether they still are the network's."""

    def __init__(self, module):
        self.trunk, self.heads = module._modules["trunk"], module._modules["heads"]
        self.layers = tuple(self.trunk._modules.values())
        # Not the network itself: these views are the value of a weak
        # dictionary keyed by it, which would then keep it alive for good.
        self.modules = (self.trunk, self.heads, *self.layers)
        self.n_blocks = len(self.heads.weights._parameters)
        self.sources, self.steps, self.blocks = [], [], []
        for layer in self.layers:
            kind = type(layer)
            if kind is nn.Linear:
                weight, bias = self._read(layer._parameters, "weight", "bias")
                self.steps.append([weight, bias, False])
            elif kind is nn.ReLU and self.steps:
                self.steps[-1][2] = True
            elif kind is not nn.Dropout:  # a Dropout is the identity in eval mode
                raise TypeError(f"{kind.__name__} layer")
        weights, biases = self.heads.weights._parameters, self.heads.biases._parameters
        first = self.steps[0][0] if self.steps else next(iter(weights.values()))
        self.in_features = first.shape[-1]
        for name in weights:
            self.blocks.append(
                (self._read(weights, name)[0], self._read(biases, name)[0])
            )

    def _read(self, parameters, *names):
        arrays = []
        for name in names:
            tensor = parameters[name]
            array = None if tensor is None else _array(tensor)
            if tensor is not None and array is None:
                raise TypeError("not a float32 CPU parameter")
            if tensor is not None:
                self.sources.append((parameters, name, tensor, tensor.data_ptr()))
            arrays.append(array)
        return arrays

    def current(self, module):
        """Whether these views still are ``module``'s parameters."""
        modules = module._modules
        if modules["trunk"] is not self.trunk or modules["heads"] is not self.heads:
            return False
        if tuple(self.trunk._modules.values()) != self.layers:
            return False
        if len(self.heads.weights._parameters) != self.n_blocks:
            return False
        if _hooked((module, *self.modules)):
            return False
        return all(
            parameters[name] is tensor and tensor.data_ptr() == address
            for parameters, name, tensor, address in self.sources
        )


def _hooked(modules):
    """Whether a forward hook, or a forward set on the instance, would see or
    change a call of any of ``modules``: then torch runs them."""
    if _global_forward_hooks or _global_forward_pre_hooks:
        return True
    return any(
        m._forward_hooks or m._forward_pre_hooks or "forward" in m.__dict__
        for m in modules
    )


def _views(module):
    """The :class:`_Views` of a plain MLP network, or None for another module."""
    views = _VIEWS.get(module)
    if views is not None and views.current(module):
        return views
    if type(module) is not MultiHeadNetwork:
        return None
    trunk, heads = module._modules["trunk"], module._modules["heads"]
    if type(trunk) is not MLP or type(heads) is not FusedHeads:
        return None
    if heads.n_members is not None:
        return None
    try:
        views = _Views(module)
    except TypeError:  # a layer or parameter numpy does not serve
        return None
    if _hooked((module, *views.modules)):
        return None
    _VIEWS[module] = views
    return views


def _front_end_rows(front_end, X):
    """The flat float32 rows a :class:`~sk_mtl.embeddings.TabularFrontEnd`
    without numeric embeddings makes of the dict input X, with numpy; None for
    another front-end or input."""
    if type(front_end) is not TabularFrontEnd or front_end.numeric is not None:
        return None
    categorical = front_end.categorical
    modules = [front_end]
    if categorical is not None:
        if type(categorical) is not CategoricalEmbeddings:
            return None
        embedding = categorical._modules["embedding"]
        if type(embedding) is not nn.Embedding or embedding.max_norm is not None:
            return None
        modules += [categorical, embedding]
    if _hooked(modules) or not all(isinstance(v, torch.Tensor) for v in X.values()):
        return None
    numeric, missing = _array(X["numeric"]), _array(X["missing"])
    if numeric is None or missing is None:
        return None
    parts = [part for part in (numeric, missing) if part.shape[1]]
    if categorical is not None:
        table = _array(embedding._parameters["weight"])
        if table is None or X["categorical"].device.type != "cpu":
            return None
        codes = X["categorical"].numpy() + categorical._buffers["offsets"].numpy()
        parts.append(table[codes].reshape(len(codes), -1))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _tabular_rows(module, X):
    """``(rows, network)`` for the tabular input's dict X: the flat rows the
    front-end of ``module`` (a :class:`~sk_mtl.embeddings.TabularNetwork`)
    makes of X, and the network behind it; None when numpy does not serve
    them (another module, a hook, another front-end or input)."""
    if type(module) is not TabularNetwork or _hooked((module,)):
        return None
    rows = _front_end_rows(module._modules["front_end"], X)
    return None if rows is None else (rows, module.network)


def numpy_outputs(module, X):
    """``module``'s eval-mode outputs for the rows ``X`` (a float32 CPU
    tensor, or the tabular input's dict of tensors), computed with numpy; None
    when ``module`` is not a plain MLP network (or one under a tabular
    front-end without numeric embeddings) or X is not such an input (the caller
    then runs the module).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MLP, MultiHeadNetwork
    >>> net = MultiHeadNetwork(MLP(4, (8,)), [2, 3]).eval()
    >>> X = torch.randn(3, 4)
    >>> fast = numpy_outputs(net, X)
    >>> all(torch.allclose(a, b, atol=1e-6) for a, b in zip(fast, net(X)))
    True
    """
    if isinstance(X, dict):
        found = _tabular_rows(module, X)
        if found is None:
            return None
        z, module = found
    else:
        z = _array(X) if isinstance(X, torch.Tensor) else None
    views = None if z is None or z.ndim != 2 else _views(module)
    if views is None or z.shape[1] != views.in_features:
        return None  # torch runs it (and says what is wrong, if anything is)
    # Non-finite values propagate silently, as in torch: the caller checks
    # the outputs and says which rows.
    with np.errstate(all="ignore"):
        for weight, bias, relu in views.steps:
            z = z @ weight.T
            if bias is not None:
                z += bias
            if relu:
                np.maximum(z, 0.0, out=z)
        parts = [z @ weight.T + bias for weight, bias in views.blocks]
    out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
    return views.heads.split(torch.from_numpy(out))


class _MemberStack:
    """Several plain MLP networks' parameters stacked, member first (copies:
    one matrix product per layer serves every member), with the views they
    were read from and the parameters' version counters then.

    Raises TypeError when the networks differ in shape or their heads are not
    of one width in task order.
    """

    def __init__(self, views):
        self.views = tuple(views)
        if len({_shape(v) for v in views}) > 1:
            raise TypeError("networks of different shapes")
        heads = views[0].heads
        if not (heads._whole or getattr(heads, "_stackable", False)):
            raise TypeError("heads of several widths")
        self.n_tasks, self.width = len(heads.slices), heads.slices[0][1]
        self.steps = []
        for i, (_, bias, relu) in enumerate(views[0].steps):
            weight = np.stack([v.steps[i][0].T for v in views])  # (members, in, out)
            if bias is not None:
                bias = _stacked_bias([v.steps[i][1] for v in views])
            self.steps.append((weight, bias, relu))
        if any(b is None for v in views for _, b in v.blocks):
            raise TypeError("heads without biases")
        self.head = (
            np.stack([np.concatenate([w for w, _ in v.blocks]).T for v in views]),
            _stacked_bias([np.concatenate([b for _, b in v.blocks]) for v in views]),
        )
        self.versions = self._versions(self.views)

    @staticmethod
    def _versions(views):
        return tuple(source[2]._version for v in views for source in v.sources)

    def current(self, views):
        """Whether these stacks still hold ``views``' parameters: the same
        views (no parameter, layer or head replaced) and no parameter changed
        in place since (its version counter unchanged)."""
        if len(views) != len(self.views):
            return False
        if not all(a is b for a, b in zip(views, self.views)):
            return False
        return self._versions(views) == self.versions


def _shape(views):
    steps = tuple((w.shape, b is None, relu) for w, b, relu in views.steps)
    return steps, tuple(w.shape for w, _ in views.blocks), tuple(views.heads.slices)


def _stacked_bias(biases):
    return np.stack(biases)[:, None, :]  # (members, 1, out)


# Per first network of a set of members (weakly held), their stacks.
_STACKS = weakref.WeakKeyDictionary()


def _member_stack(networks):
    """The :class:`_MemberStack` of plain MLP ``networks``, or None."""
    views = [_views(network) for network in networks]
    if any(v is None for v in views):
        return None
    stack = _STACKS.get(networks[0])
    if stack is None or not stack.current(views):
        try:
            stack = _MemberStack(views)
        except TypeError:
            return None
        _STACKS[networks[0]] = stack
    return stack


def numpy_member_logits(modules, X):
    """The eval-mode outputs of several networks of one shape (the members of
    a bagged model) for the same rows X, as one float32 array of shape
    ``(members, rows, tasks, width)``, computed with numpy: one matrix product
    per layer for all members.

    For plain MLP networks (alone or under a tabular front-end, as
    :func:`numpy_outputs`) whose heads are of one width in task order (or one
    head); None otherwise. The outputs are not checked: a non-finite value
    stays. The members' parameters are copied into stacks once and read again
    when one is replaced or changed in place through torch (its version
    counter); a write that bypasses the counter (through ``.data`` or a numpy
    view of the parameter) is not seen.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MLP, MultiHeadNetwork
    >>> nets = [MultiHeadNetwork(MLP(4, (8,)), [3, 3]).eval() for _ in range(2)]
    >>> X = torch.randn(5, 4)
    >>> logits = numpy_member_logits(nets, X)
    >>> logits.shape
    (2, 5, 2, 3)
    >>> torch.allclose(torch.from_numpy(logits[1, :, 0]), nets[1](X)[0], atol=1e-6)
    True
    """
    if isinstance(X, dict):
        found = [_tabular_rows(m, X) for m in modules]
        if any(f is None for f in found) or len({f[0].shape for f in found}) > 1:
            return None
        rows, modules = zip(*found)
        z = np.stack(rows)
    else:
        z = _array(X) if isinstance(X, torch.Tensor) else None
    stack = None if z is None or z.ndim not in (2, 3) else _member_stack(modules)
    if stack is None or z.shape[-1] != stack.views[0].in_features:
        return None
    with np.errstate(all="ignore"):  # non-finite values propagate, as in torch
        for weight, bias, relu in stack.steps:
            z = np.matmul(z, weight)  # (members, rows, out)
            if bias is not None:
                z += bias
            if relu:
                np.maximum(z, 0.0, out=z)
        weight, bias = stack.head
        out = np.matmul(z, weight) + bias
    n_members, n_rows = out.shape[:2]
    width = stack.n_tasks * stack.width
    return out[..., :width].reshape(n_members, n_rows, stack.n_tasks, stack.width)
