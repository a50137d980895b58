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

from torch import nn

from ..modules import (
    MLP,
    ExpertLayer,
    FusedHeads,
    MMoE,
    MultiHeadNetwork,
    StackedTrunk,
)

__all__ = ["describe", "build"]


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


def _build_multihead(d):
    net = MultiHeadNetwork(build(d["trunk"]), d["n_classes"], d["trunk_out_features"])
    net.heads = _fused_heads(d, "heads", net.out_features, net.heads)
    return net


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
    return net


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

    return TextBase(load_text_encoder(d["encoder"], normalize=d["normalize"]))


def _codecs():
    from ..modules import _ExpertFeatures
    from ..transfer._sources import TextBase
    from ..transfer._transfer_parts import NewHead

    return {
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
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"Invalid description of a {kind} in the file ({type(exc).__name__}: "
            f"{exc})."
        ) from None
