"""Networks described as JSON and rebuilt from that description (no pickle).

Saving a model (:mod:`sk_mtl._persistence`) stores a network as its description
(what each layer is and how wide) plus its weights (safetensors). The description
is read off the *fitted* module, not re-derived from the estimator's parameters:
a fine-tuned network may have new heads, a new input layer, or a transferred trunk
under a new head, and the fitted module is the one truth about that. Only the
module types listed here can be described; anything else (e.g. a user's own
``torch.nn.Module`` given to TransferClassifier) gets a TypeError at save time.

Each entry maps a module type to ``describe(module) -> dict`` and
``build(dict) -> module`` (tests rebuild every type and compare descriptions).

Task heads are :class:`~sk_mtl.modules.FusedHeads`; their block layout (which
differs from one block in task order only after a fine-tuning kept some heads)
is described under ``"heads"`` (and ``"gates"`` for MMoE). Files written before
the heads were fused have neither key and one weight per task head; they load
as one block (``FusedHeads`` reads the old weight names).
"""

import warnings

import torch
from torch import nn

from ..modules import (
    MLP,
    ExpertLayer,
    FusedHeads,
    MMoE,
    MultiHeadNetwork,
    StackedTrunk,
)

__all__ = ["describe", "build", "check_description", "weights_size"]

_FREQUENCIES = 48  # rtdl's PeriodicEmbeddings default, which sk_mtl uses


def _dropout(layers):
    return next((m.p for m in layers if isinstance(m, nn.Dropout)), 0.0)


def _describe_mlp(m):
    linear = m.linear_layers()
    in_features = linear[0].in_features if linear else m.out_features
    return {
        "in_features": in_features,
        "hidden_units": [layer.out_features for layer in linear],
        "dropout": _dropout(m),
    }


def _build_mlp(d):
    return MLP(d["in_features"], tuple(d["hidden_units"]), d["dropout"])


def _describe_multihead(m):
    return {
        "trunk": describe(m.trunk),
        "n_classes": [h.out_features for h in m.heads],
        "trunk_out_features": m.out_features,
        "heads": m.heads.layout_config(),
    }


def _fused_heads(d, key, in_features, default):
    """The heads ``d[key]`` describes, else ``default`` (one block, in order)."""
    if key not in d:
        return default
    return FusedHeads.from_layout(in_features, d[key])


def _check_heads(net, d):
    """The heads built from a layout must have the widths ``n_classes`` says."""
    if [h.out_features for h in net.heads] != list(d["n_classes"]):
        raise ValueError("the heads layout does not give n_classes")
    return net


def _build_multihead(d):
    net = MultiHeadNetwork(build(d["trunk"]), d["n_classes"], d["trunk_out_features"])
    net.heads = _fused_heads(d, "heads", net.out_features, net.heads)
    return _check_heads(net, d)


def _expert_config(experts, n_experts, in_features):
    layers = [m for m in experts if isinstance(m, ExpertLayer)]
    return {
        "in_features": in_features,
        "hidden_units": [layer.weight.shape[2] for layer in layers],
        "n_experts": n_experts,
        "dropout": _dropout(experts),
    }


def _describe_mmoe(m):
    d = _expert_config(m.experts, m.n_experts, m.gates.in_features)
    d["n_classes"] = [h.out_features for h in m.heads]
    d["heads"] = m.heads.layout_config()
    d["gates"] = m.gates.layout_config()
    return d


def _build_mmoe(d):
    net = MMoE(
        d["in_features"],
        d["hidden_units"],
        d["n_classes"],
        d["n_experts"],
        d["dropout"],
    )
    net.heads = _fused_heads(d, "heads", net.expert_units, net.heads)
    net.gates = _fused_heads(d, "gates", d["in_features"], net.gates)
    return _check_heads(net, d)


def _describe_expert_features(m):
    first = m.experts[0]
    return _expert_config(m.experts, first.weight.shape[0], first.weight.shape[1])


def _build_expert_features(d):
    return _build_mmoe({**d, "n_classes": [1]}).feature_module()


def _describe_stacked(m):
    return {"base": describe(m.base), "top": describe(m.top)}


def _build_stacked(d):
    return StackedTrunk(build(d["base"]), build(d["top"]))


def _describe_head(m):
    return {**_describe_mlp(m.mlp), "dropout": _dropout([m.dropout, *m.mlp])}


def _build_head(d):
    from ..transfer._transfer_parts import NewHead

    return NewHead(d["in_features"], tuple(d["hidden_units"]), d["dropout"])


def _describe_text_base(m):
    return {"encoder": m.encoder.name, "normalize": bool(m.encoder.normalize)}


def _build_text_base(d):
    from ..text._loading import load_text_encoder
    from ..transfer._sources import TextBase

    # A whole pretrained encoder, read from its package or folder (never on the
    # "meta" device: sizing a network reads the real encoder).
    with torch.device("cpu"):
        return TextBase(load_text_encoder(d["encoder"], normalize=d["normalize"]))


def _describe_front_end(m):
    kind = None
    n_bins = None
    if m.numeric is not None:
        kind = "periodic" if hasattr(m.numeric, "periodic") else "piecewise_linear"
        if kind == "periodic" and m.numeric.periodic.weight.shape[1] != _FREQUENCIES:
            raise TypeError(
                f"sk_mtl saves periodic embeddings of {_FREQUENCIES} frequencies."
            )
        if kind == "piecewise_linear":
            n_bins = [int(n) for n in m.numeric.impl.mask.sum(1)]
    return {
        "n_numeric": m.n_numeric,
        "n_missing": m.n_missing,
        "cardinalities": [] if m.categorical is None else m.categorical.cardinalities,
        "numeric_embedding": kind,
        "d_embedding": m.d_embedding,
        "n_bins": n_bins,
    }


def _build_front_end(d):
    from ..embeddings import CategoricalEmbeddings, TabularFrontEnd

    kind, width, cards = d["numeric_embedding"], d["d_embedding"], d["cardinalities"]
    if kind != "piecewise_linear":
        return TabularFrontEnd(d["n_numeric"], d["n_missing"], cards, kind, width)
    # rtdl reads the bin edges when it builds (so not on the "meta" device):
    # stand-in edges of the right counts, the real ones are buffers in the
    # weights; then the categorical embeddings on the current device.
    with torch.device("cpu"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rtdl's note on one-bin columns
        bins = [torch.arange(int(n) + 1, dtype=torch.float32) for n in d["n_bins"]]
        front = TabularFrontEnd(d["n_numeric"], d["n_missing"], [], kind, width, bins)
    if cards:
        front.categorical = CategoricalEmbeddings(cards, width)
        front.chunks += [width] * len(cards)
        front.out_features = sum(front.chunks)
    return front


def _describe_tabular(m):
    return {"front_end": describe(m.front_end), "network": describe(m.network)}


def _build_tabular(d):
    from ..embeddings import TabularNetwork

    return TabularNetwork(build(d["front_end"]), build(d["network"]))


def _describe_front_features(m):
    return {"front_end": describe(m.front_end), "features": describe(m.features)}


def _build_front_features(d):
    from ..embeddings import _FrontEndFeatures

    return _FrontEndFeatures(build(d["front_end"]), build(d["features"]))


def _describe_members(m):
    return {
        **_describe_mlp(m.trunk),
        "n_members": m.n_members,
        "n_classes": [h.out_features for h in m.heads],
        "heads": m.heads.layout_config(),
    }


def _build_members(d):
    from ..ensembles import MemberEnsemble

    net = MemberEnsemble(
        d["in_features"],
        tuple(d["hidden_units"]),
        d["n_classes"],
        d["n_members"],
        d["dropout"],
    )
    net.heads = FusedHeads.from_layout(net.out_features, d["heads"], net.n_members)
    return _check_heads(net, d)


def _describe_member_features(m):
    return {"ensemble": describe(m.ensemble)}


def _build_member_features(d):
    return build(d["ensemble"]).feature_module()


def _codecs():
    from ..embeddings import TabularFrontEnd, TabularNetwork, _FrontEndFeatures
    from ..ensembles import MemberEnsemble, _MemberFeatures
    from ..modules import _ExpertFeatures
    from ..transfer._sources import TextBase
    from ..transfer._transfer_parts import NewHead

    return {
        TabularFrontEnd: ("TabularFrontEnd", _describe_front_end, _build_front_end),
        TabularNetwork: ("TabularNetwork", _describe_tabular, _build_tabular),
        _FrontEndFeatures: (
            "FrontEndFeatures",
            _describe_front_features,
            _build_front_features,
        ),
        MemberEnsemble: ("MemberEnsemble", _describe_members, _build_members),
        _MemberFeatures: (
            "MemberFeatures",
            _describe_member_features,
            _build_member_features,
        ),
        MLP: ("MLP", _describe_mlp, _build_mlp),
        MultiHeadNetwork: ("MultiHeadNetwork", _describe_multihead, _build_multihead),
        MMoE: ("MMoE", _describe_mmoe, _build_mmoe),
        _ExpertFeatures: (
            "ExpertFeatures",
            _describe_expert_features,
            _build_expert_features,
        ),
        StackedTrunk: ("StackedTrunk", _describe_stacked, _build_stacked),
        NewHead: ("TransferHead", _describe_head, _build_head),
        TextBase: ("TextEncoder", _describe_text_base, _build_text_base),
    }


def describe(module):
    """JSON-able description of a network built from sk_mtl's modules."""
    codecs = _codecs()
    codec = codecs.get(type(module))
    if codec is None:
        raise TypeError(
            f"sk_mtl cannot save a network containing a {type(module).__name__}: "
            "only networks built from sk_mtl's modules can be rebuilt without "
            f"pickle ({', '.join(sorted(c[0] for c in codecs.values()))}). Use "
            "pickle/joblib for this model (and load it only from a trusted source)."
        )
    name, describe_fn, _ = codec
    return {"type": name, **describe_fn(module)}


# Bounds on a description read from a file, checked before anything is built.
MAX_WIDTH = 2**20  # any one width, count of classes, categories, members
MAX_ENTRIES = 2**16  # entries of any one list (layers, tasks, columns)
MAX_DEPTH = 16  # networks nested in networks
MAX_EMBEDDING_CELLS = 2**24  # piecewise-linear: n_numeric * max(n_bins) * d


def check_description(description, where="network", depth=0):
    """ValueError unless every number of a description from a file is bounded.

    Counts and widths are ints in ``[0, MAX_WIDTH]``, lists have at most
    ``MAX_ENTRIES`` entries, dropout is a float in ``[0, 1)``; piecewise-linear
    embeddings are at most ``MAX_EMBEDDING_CELLS``. Then :func:`weights_shape`
    builds the network on the "meta" device (no memory) to size it.
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: networks nested more than {MAX_DEPTH} deep.")
    if not isinstance(description, dict):
        raise ValueError(f"{where}: not a network description.")
    for key, value in description.items():
        _check_value(value, f"{where}.{key}", depth)
    if description.get("numeric_embedding") == "piecewise_linear":
        bins = description.get("n_bins") or [0]
        cells = len(bins) * max(bins) * description.get("d_embedding", 0)
        if cells > MAX_EMBEDDING_CELLS:
            raise ValueError(
                f"{where}: a piecewise-linear embedding of {cells} cells exceeds "
                f"the bound of {MAX_EMBEDDING_CELLS}."
            )


def _check_value(value, where, depth):
    if isinstance(value, dict):
        if "type" in value:
            check_description(value, where, depth + 1)
        else:  # a heads layout
            for key, v in value.items():
                _check_value(v, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_ENTRIES:
            raise ValueError(f"{where}: {len(value)} entries exceed {MAX_ENTRIES}.")
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]", depth + 1)
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        return
    elif isinstance(value, int):
        if not 0 <= value <= MAX_WIDTH:
            raise ValueError(f"{where}: {value} is not in [0, {MAX_WIDTH}].")
    elif isinstance(value, float):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{where}: {value} is not a dropout in [0, 1).")
    else:
        raise ValueError(f"{where}: unexpected value {value!r}.")


def weights_size(description):
    """Number of tensor elements of the network a checked description builds.

    Built on the "meta" device: nothing is allocated (a pretrained text encoder
    is read for real).
    """
    with torch.device("meta"):
        module = build(description)
    return sum(t.numel() for t in module.state_dict().values())


def build(description):
    """The network (random weights) a :func:`describe` output stands for."""
    if not isinstance(description, dict):
        raise ValueError(f"Invalid network description: {description!r}.")
    by_name = {name: build_fn for name, _, build_fn in _codecs().values()}
    kind = description.get("type")
    if kind not in by_name:
        raise ValueError(
            f"Unknown network type {kind!r} in the file; this sk_mtl knows "
            f"{sorted(by_name)}."
        )
    try:
        return by_name[kind]({k: v for k, v in description.items() if k != "type"})
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise ValueError(
            f"Invalid description of a {kind} in the file ({type(exc).__name__}: "
            f"{exc})."
        ) from None
