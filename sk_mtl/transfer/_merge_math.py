"""Merging as functions: weight averaging, architecture checks, fitted weights."""

import torch

from .._data._fitted import same_fit
from .._engine._base import BaseNeuralClassifier

__all__ = [
    "average_state",
    "check_same_architecture",
    "check_same_input",
    "fit_simplex_weights",
]


def check_same_input(members):
    """ValueError unless every member reads X as the first does.

    Averaged weights only mean something on one reading of X: members fine-tuned
    from one source share its input; members fitted apart each learned their own
    scaling and categories from their own rows.
    """
    first = getattr(members[0], "input_", None)
    for i, m in enumerate(members[1:], start=1):
        if not same_fit(first, getattr(m, "input_", None)):
            raise ValueError(
                f"space='weights' needs members that read X the same way, but "
                f"estimators[{i}]'s input (its scaling of the numeric columns or "
                "its categories) was fitted on other rows than estimators[0]'s. "
                "Merge them in output space (space='output'), or fine-tune the "
                "members from one source (they then share its input)."
            )


def check_same_architecture(members):
    """ValueError/TypeError unless every member has the same network shapes."""
    for i, m in enumerate(members):
        if not isinstance(m, BaseNeuralClassifier):
            raise TypeError(
                f"space='weights' averages network weights: estimators[{i}] "
                f"({type(m).__name__}) is not an sk_mtl neural estimator. Use "
                "space='output'."
            )
        bags = vars(m).get("estimators_")
        if bags is not None:
            raise ValueError(
                f"space='weights' averages the weights of one network per "
                f"estimator, but estimators[{i}] ({type(m).__name__}) was fitted "
                f"with n_bags={len(bags)}: {len(bags)} networks. Use "
                "space='output', or fit it with n_bags=1."
            )
    ref = members[0].module_
    ref_shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    for i, m in enumerate(members[1:], start=1):
        module = m.module_
        if type(module) is not type(ref):
            raise ValueError(
                f"space='weights' needs identical architectures: estimators[{i}] "
                f"has a {type(module).__name__}, estimators[0] a "
                f"{type(ref).__name__}."
            )
        shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        if shapes != ref_shapes:
            diff = sorted(
                k
                for k in set(shapes) | set(ref_shapes)
                if shapes.get(k) != ref_shapes.get(k)
            )
            raise ValueError(
                f"space='weights' needs identical architectures: estimators[{i}] "
                f"differs from estimators[0] in {diff[:4]} (shapes "
                f"{[shapes.get(k) for k in diff[:4]]} vs "
                f"{[ref_shapes.get(k) for k in diff[:4]]})."
            )


def average_state(states, alpha):
    """``sum_i alpha[i] * states[i]`` for every floating-point entry.

    Other entries (e.g. counters) are taken from the first state.
    """
    out = {}
    for key, ref in states[0].items():
        if not torch.is_floating_point(ref):
            out[key] = ref
            continue
        stacked = torch.stack([s[key].to(alpha.dtype) for s in states])
        out[key] = torch.tensordot(alpha, stacked, dims=1).to(ref.dtype)
    return out


def fit_simplex_weights(log_probas, targets, n_members):
    """Member weights on the simplex minimising the merged model's log-loss.

    Parameters
    ----------
    log_probas : callable
        ``alpha -> list of (n_samples, n_classes) log-probabilities``, one per
        task, of the model merged with weights ``alpha``.
    targets : list of (rows, codes, weights)
        Per task: the labelled rows, their class codes and normalised weights.
    n_members : int
        Number of members.

    Returns
    -------
    weights : ndarray of shape (n_members,)
        Non-negative, summing to 1.
    """

    def loss_fn(beta):
        logp = log_probas(torch.softmax(beta, dim=0))
        return sum(
            -(w * lp[rows, codes]).sum() for lp, (rows, codes, w) in zip(logp, targets)
        )

    beta = torch.zeros(n_members, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([beta], lr=1, max_iter=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn(beta)
        loss.backward()
        return loss

    opt.step(closure)
    weights = torch.softmax(beta.detach(), dim=0).numpy()
    return weights / weights.sum()
