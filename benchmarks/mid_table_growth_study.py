"""Growing batches on tables of 5,000 to 16,000 fitted rows: a validation study.

Mammography's default fit costs 16x HistGradientBoosting's CPU time on the test
splits, the one table over 5,000 rows above the 10x the defaults aim at; it
often runs to ``max_epochs=50``. Seven cheaper recipes have failed on these
tables (``mid_table_study``, ``mid_table_step_study``,
``mid_table_dropout_study``): each made every epoch cheaper or shorter from the
first, and lost on loans or coil_2000, whose best epochs come early (3 to 12).
Larger batches late in a fit are what a decaying learning rate does to the
noise of the steps (Smith et al. 2018, "Don't decay the learning rate,
increase the batch size"), and they make those epochs cheaper. This study
keeps the first 10 epochs as they are and grows the batches after them.

Contenders, every other parameter at its default (fixed before the run):

- ``defaults`` (batches of 128 rows at ``lr=1e-3``, dropout 0.1, a patience
  of 10);
- ``grow``: batches of 128 rows for epochs 1-10, 256 for epochs 11-20 and 512
  from epoch 21 on, the rate, dropout and patience of the defaults;
- the anchor ``histgb``, the reference and the unit of the CPU ratios.

Protocol and rule: ``mid_table_study``'s (its 5 tables, seeds 0-2, validation
splits only; ``large_table_study``'s rule (a)-(d) against ``defaults`` and (e)
no table worse by 0.005 or more). A passing contender would become the default
below 16,000 training rows for the default MLP trunk.

Run (from the repository root): ``PYTHONPATH=$PWD python -m
benchmarks.mid_table_growth_study --data ../shared/data --seeds 0 1 2``;
appends to ``benchmarks/results/mid_table_growth_study.jsonl`` and prints the
summary (``--report``: the summary of the rows already there).
"""

from pathlib import Path

from skorch.callbacks import Callback

from . import _validation_study as study
from . import mid_table_study

RESULTS = Path(__file__).parent / "results" / "mid_table_growth_study.jsonl"
# (first epoch, batch size) of the growing batches: 128 until epoch 10.
GROWTH = ((1, 128), (11, 256), (21, 512))


class GrowingBatches(Callback):
    """Sets the training batches' size at each epoch's start from ``GROWTH``
    (the rate stays as it is)."""

    def on_train_begin(self, net, **kwargs):
        # skorch builds the training iterator once per fit, after this hook:
        # keep it, to change its batch size between epochs.
        make = type(net).get_iterator
        self.iterator = None

        def get_iterator(dataset, training=False):
            iterator = make(net, dataset, training=training)
            if training:
                self.iterator = iterator
            return iterator

        net.get_iterator = get_iterator

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # 1-based: this epoch's row is there
        size = max(size for first, size in GROWTH if epoch >= first)
        if self.iterator is not None:
            self.iterator.batch_size = size

    def on_train_end(self, net, **kwargs):
        net.__dict__.pop("get_iterator", None)
        self.iterator = None


CONTENDERS = {
    "defaults": {},
    "grow": {"callbacks": [("growing_batches", GrowingBatches())]},
}

run, summary = mid_table_study.study_of(CONTENDERS)


if __name__ == "__main__":
    study.main(__doc__, run, summary, RESULTS)
