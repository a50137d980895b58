"""Embeddings front-end for tabular input (plain PyTorch).

A tabular row reaches the network as a dict of tensors (see
:class:`sk_mtl._data._tabular.TabularInput`):

- ``"numeric"``: ``(batch, n_numeric)`` floats (already scaled);
- ``"missing"``: ``(batch, n_missing)`` 0/1 missing indicators;
- ``"categorical"``: ``(batch, n_categorical)`` integer codes.

:class:`TabularFrontEnd` turns it into one flat vector: a learned embedding per
categorical column, the numeric columns as they are or through a numeric embedding
(periodic or piecewise-linear, Gorishniy et al. 2022, from the
``rtdl_num_embeddings`` package), and the missing indicators.
:class:`TabularNetwork` puts a front-end under any multi-task network of
:mod:`sk_mtl.modules` or :mod:`sk_mtl.ensembles` and keeps their protocol
(``features``, ``shared_parameters``, ``replace_heads``, ``layer_groups``, ...).
"""

import contextlib
import itertools
import warnings

import torch
from torch import nn

from .modules import layer_groups

__all__ = [
    "NUMERIC_EMBEDDINGS",
    "CategoricalEmbeddings",
    "TabularFrontEnd",
    "TabularNetwork",
    "import_tabular_extra",
    "piecewise_linear_bins",
]

NUMERIC_EMBEDDINGS = ("periodic", "piecewise_linear")


def import_tabular_extra(module, purpose):
    """Import ``module`` of the ``tabular`` extra, or raise a clear ImportError."""
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(
            f"{purpose} needs the {module!r} package, part of sk_mtl's optional "
            "'tabular' extra: pip install 'sk_mtl[tabular]'."
        ) from None


class CategoricalEmbeddings(nn.Module):
    """One learned ``d_embedding``-vector per category of each column.

    All columns share one table (column ``j``'s codes are offset past those of the
    columns before it), so a batch is embedded by a single lookup.

    Parameters
    ----------
    cardinalities : sequence of int
        Number of codes of each column.
    d_embedding : int, default=16
        Width of each embedding.

    Examples
    --------
    >>> import torch
    >>> emb = CategoricalEmbeddings([3, 5], d_embedding=4)
    >>> emb(torch.tensor([[0, 4], [2, 1]])).shape
    torch.Size([2, 2, 4])
    """

    def __init__(self, cardinalities, d_embedding=16):
        super().__init__()
        cardinalities = [int(c) for c in cardinalities]
        offsets = torch.tensor([0, *itertools.accumulate(cardinalities)][:-1])
        self.register_buffer("offsets", offsets, persistent=True)
        self.embedding = nn.Embedding(sum(cardinalities), d_embedding)
        self.cardinalities = cardinalities
        self.reset_parameters()

    def reset_parameters(self):
        # The rsqrt(d) scale of rtdl's embeddings, not nn.Embedding's N(0, 1).
        bound = self.embedding.embedding_dim**-0.5
        nn.init.uniform_(self.embedding.weight, -bound, bound)

    def forward(self, codes):
        return self.embedding(codes + self.offsets)


def piecewise_linear_bins(numeric, n_bins=48):
    """Quantile bin edges of each column of the training tensor ``numeric``.

    ``rtdl_num_embeddings.compute_bins`` on the columns with at least two distinct
    values; a constant column gets one bin around its value.
    """
    rtdl = import_tabular_extra(
        "rtdl_num_embeddings", "numeric_embedding='piecewise_linear'"
    )
    n_bins = max(2, min(int(n_bins), len(numeric) - 1))
    varying = [j for j in range(numeric.shape[1]) if numeric[:, j].unique().numel() > 1]
    bins = [None] * numeric.shape[1]
    if varying and len(numeric) > 2:
        with _one_bin_is_fine():
            computed = rtdl.compute_bins(numeric[:, varying], n_bins)
        for j, b in zip(varying, computed):
            bins[j] = b
    for j, b in enumerate(bins):
        if b is None:
            v = float(numeric[0, j]) if len(numeric) else 0.0
            bins[j] = torch.tensor([v - 1.0, v + 1.0])
    return bins


@contextlib.contextmanager
def _one_bin_is_fine():
    # A column that is constant, or has two distinct quantiles (mostly zeros), gets
    # one bin, on purpose: rtdl warns about it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*just two bin edges.*")
        yield


def _numeric_embedding(kind, n_numeric, d_embedding, bins):
    rtdl = import_tabular_extra("rtdl_num_embeddings", f"numeric_embedding={kind!r}")
    if kind == "periodic":
        return rtdl.PeriodicEmbeddings(n_numeric, d_embedding, lite=False)
    if kind == "piecewise_linear":
        if bins is None or len(bins) != n_numeric:
            raise ValueError(
                "numeric_embedding='piecewise_linear' needs bin edges for each "
                "numeric column (piecewise_linear_bins on the training data)."
            )
        with _one_bin_is_fine():
            return rtdl.PiecewiseLinearEmbeddings(
                bins, d_embedding, activation=False, version="B"
            )
    raise ValueError(
        f"numeric_embedding must be None or one of {NUMERIC_EMBEDDINGS}, got {kind!r}."
    )


class TabularFrontEnd(nn.Module):
    """Tabular dict input -> one flat vector per row.

    Parameters
    ----------
    n_numeric : int
        Number of numeric columns.
    n_missing : int
        Number of missing indicators.
    cardinalities : sequence of int
        Number of codes of each categorical column.
    numeric_embedding : {None, "periodic", "piecewise_linear"}, default=None
        None: the scaled numeric values are used as they are.
    d_embedding : int, default=16
        Width of each column's embedding.
    bins : list of torch.Tensor, optional
        Bin edges of each numeric column, for ``"piecewise_linear"``.

    Attributes
    ----------
    out_features : int
        Width of the output.
    chunks : list of int
        Width of each column's part of the output, in order (what TabM's
        per-feature scaling initialisation reads).

    Examples
    --------
    >>> import torch
    >>> front = TabularFrontEnd(2, 1, [4], d_embedding=3)
    >>> X = {"numeric": torch.zeros(5, 2), "missing": torch.zeros(5, 1),
    ...      "categorical": torch.zeros(5, 1, dtype=torch.long)}
    >>> front(X).shape, front.chunks
    (torch.Size([5, 6]), [1, 1, 1, 3])
    """

    def __init__(
        self,
        n_numeric,
        n_missing,
        cardinalities,
        numeric_embedding=None,
        d_embedding=16,
        bins=None,
    ):
        super().__init__()
        # The shape of the front-end, as given (what saving describes).
        self.n_numeric = int(n_numeric)
        self.n_missing = int(n_missing)
        self.d_embedding = int(d_embedding)
        self.numeric = None
        d_numeric = 1
        if numeric_embedding is not None and n_numeric > 0:
            self.numeric = _numeric_embedding(
                numeric_embedding, n_numeric, d_embedding, bins
            )
            d_numeric = d_embedding
        self.categorical = (
            CategoricalEmbeddings(cardinalities, d_embedding) if cardinalities else None
        )
        self.chunks = (
            [d_numeric] * n_numeric
            + [1] * n_missing
            + [d_embedding] * len(cardinalities)
        )
        self.out_features = sum(self.chunks)
        if self.out_features == 0:
            raise ValueError("The tabular front-end has no column to read.")

    def forward(self, X):
        parts = []
        numeric = X["numeric"]
        if numeric.shape[1]:
            parts.append(
                numeric if self.numeric is None else self.numeric(numeric).flatten(1)
            )
        if X["missing"].shape[1]:
            parts.append(X["missing"])
        if self.categorical is not None:
            parts.append(self.categorical(X["categorical"]).flatten(1))
        return torch.cat(parts, dim=1)


def _gather(X, inputs):
    if inputs:
        if X is not None:
            raise TypeError("Pass the input either as X or as keyword arguments.")
        return dict(inputs)
    return X


class TabularNetwork(nn.Module):
    """A tabular front-end under a multi-task network.

    Parameters
    ----------
    front_end : TabularFrontEnd
        Maps the dict input to a flat vector.
    network : torch.nn.Module
        A multi-task network reading that vector
        (:class:`~sk_mtl.modules.MultiHeadNetwork`, :class:`~sk_mtl.modules.MMoE`,
        :class:`~sk_mtl.ensembles.MemberEnsemble`).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MLP, MultiHeadNetwork
    >>> front = TabularFrontEnd(2, 0, [3])
    >>> net = TabularNetwork(front, MultiHeadNetwork(MLP(18, (8,)), [2, 3]))
    >>> X = {"numeric": torch.zeros(4, 2), "missing": torch.zeros(4, 0),
    ...      "categorical": torch.ones(4, 1, dtype=torch.long)}
    >>> [t.shape for t in net(**X)]
    [torch.Size([4, 2]), torch.Size([4, 3])]
    """

    def __init__(self, front_end, network):
        super().__init__()
        self.front_end = front_end
        self.network = network

    @property
    def out_features(self):
        return self.network.out_features

    def forward(self, X=None, **inputs):
        return self.network(self.front_end(_gather(X, inputs)))

    def features(self, X=None, **inputs):
        return self.network.features(self.front_end(_gather(X, inputs)))

    def shared_parameters(self):
        return itertools.chain(
            self.front_end.parameters(), self.network.shared_parameters()
        )

    def feature_module(self):
        return _FrontEndFeatures(self.front_end, self.network.feature_module())

    def layer_groups(self):
        return [self.front_end, *layer_groups(self.network)]

    def replace_heads(self, n_classes, keep=None):
        """New task heads, as ``MultiHeadNetwork.replace_heads``."""
        self.network.replace_heads(n_classes, keep)

    def replace_input_layer(self, in_features):
        raise ValueError(
            "This network reads tabular columns through its embeddings and cannot "
            "be given a new input layer: give X the columns the source was fitted "
            "on (input_mismatch='reinit' is for plain numeric X)."
        )


class _FrontEndFeatures(nn.Module):
    """Front-end then a network's feature module (its ``feature_module``)."""

    def __init__(self, front_end, features):
        super().__init__()
        self.front_end = front_end
        self.features = features
        self.out_features = features.out_features

    def forward(self, X=None, **inputs):
        return self.features(self.front_end(_gather(X, inputs)))

    def layer_groups(self):
        return [self.front_end, *layer_groups(self.features)]
