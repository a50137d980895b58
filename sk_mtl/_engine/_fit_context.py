"""What the hooks of one fit hand to each other (see :mod:`sk_mtl._engine._base`).

``fit`` (and the first ``partial_fit`` call) creates one :class:`FitContext` and
passes it to the hooks, which read what earlier hooks computed from it instead
of from attributes of the estimator. The estimator's fitted attributes are
assigned from it (``_set_fitted``) only once the network is built and, for a warm
start, checked against the previous one: a failed fit leaves the previous model
as it was.
"""

from dataclasses import dataclass, field

__all__ = ["FitContext", "PreviousFit"]


@dataclass(frozen=True)
class PreviousFit:
    """The fitted model a warm start continues from: its tasks and network."""

    tasks: list
    module: object


@dataclass
class FitContext:
    """The state of one fit, passed from hook to hook.

    Attributes
    ----------
    previous : PreviousFit or None
        What a warm start continues from (``_warm_start_state``); None otherwise.
    y : object
        The training targets as given to ``fit`` (None in ``partial_fit``), for
        the hooks before ``_fit_tasks`` that size themselves by the labels.
    input : input object
        The fitted input (``_fit_input``); becomes ``input_``.
    X : object
        The validated training X (``_fit_input``).
    tasks : list of task objects
        The fitted tasks (``_fit_tasks``); become ``tasks_``.
    multitask : bool
        Whether ``y`` had several columns (2-D).
    source : object
        What a model built on another network reads (set by its ``_fit_input``:
        FineTuner's checked source estimator, TransferClassifier's source).
    new_input_layer : bool
        Whether the reused network needs a new input layer (``input_mismatch=
        "reinit"`` and X of another width).
    attributes : dict
        Further fitted attributes computed by the hooks (``reused_heads_``, ...),
        assigned with ``input_`` and ``tasks_``.
    """

    previous: PreviousFit | None = None
    y: object = None
    input: object = None
    X: object = None
    tasks: list = field(default_factory=list)
    multitask: bool = False
    source: object = None
    new_input_layer: bool = False
    attributes: dict = field(default_factory=dict)
