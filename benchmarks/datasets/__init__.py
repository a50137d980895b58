"""Loaders for the data sets of sk_mtl's benchmarks.

Benchmark infrastructure of the repository, not part of the installed ``sk_mtl``
package: import it as ``benchmarks.datasets`` from the repository root. The files
are not shipped and nothing is downloaded. Every loader takes the folder that holds
them (``data_home``) as an argument; see :func:`get_data_home` for how it is found
when the argument is left out. ``benchmarks/PROTOCOL.md`` says where to get each
data set. The folder layout is the one of the team's shared data folder::

    census_income_kdd/census-income.test.gz
    trec/train_5500.label.gz, trec/TREC_10.label.gz
    sentence_polarity/{custrev,rt-polarity}.{pos,neg}.gz,
    sentence_polarity/subj.{subjective,objective}.gz
    imbalanced/<name>.csv.gz

The split helpers (:func:`census_income_split`, :func:`few_shot_split`,
:func:`imbalanced_split`) reproduce the protocols of the reference baselines
(``benchmarks/PROTOCOL.md``) exactly, so results can be compared row for row with
them.

pandas is needed by the census-income, TREC and imbalanced loaders; it is imported
when they are called.
"""

from ._common import DATA_HOME_ENV_VAR, get_data_home
from ._imbalanced import (
    IMBALANCED_BENCHMARK,
    IMBALANCED_DATASETS,
    imbalanced_split,
    load_imbalanced,
)
from ._tabular import (
    CENSUS_COLLEGE_EDUCATION,
    census_income_split,
    load_census_income,
)
from ._text import (
    few_shot_split,
    load_sentence_polarity,
    load_trec,
)

__all__ = [
    "CENSUS_COLLEGE_EDUCATION",
    "DATA_HOME_ENV_VAR",
    "IMBALANCED_BENCHMARK",
    "IMBALANCED_DATASETS",
    "census_income_split",
    "few_shot_split",
    "get_data_home",
    "imbalanced_split",
    "load_census_income",
    "load_imbalanced",
    "load_sentence_polarity",
    "load_trec",
]
