"""Loaders for the benchmark data sets used by sk_mtl's benchmarks.

The files are not shipped with the package and nothing is downloaded. Every loader
takes the folder that holds them (``data_home``) as an argument; see
:func:`get_data_home` for how it is found when the argument is left out. The folder
layout is the one of the team's shared data folder::

    census_income_kdd/census-income.test.gz
    adult/adult.data.gz, adult/adult.test.gz
    trec/train_5500.label.gz, trec/TREC_10.label.gz
    sst2/train.tsv.gz, sst2/dev.tsv.gz, sst2/test.tsv.gz
    sentence_polarity/{custrev,rt-polarity}.{pos,neg}.gz,
    sentence_polarity/subj.{subjective,objective}.gz
    sms_spam/SMSSpamCollection.gz
    imbalanced/<name>.csv.gz

The split helpers (:func:`census_income_split`, :func:`few_shot_split`,
:func:`imbalanced_split`) reproduce the protocols of the reference baselines
exactly, so results can be compared row for row with them.

pandas is needed by the tabular and TSV loaders; it is imported when they are
called.
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
    load_adult,
    load_census_income,
)
from ._text import (
    few_shot_split,
    load_sentence_polarity,
    load_sms_spam,
    load_sst2,
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
    "load_adult",
    "load_census_income",
    "load_imbalanced",
    "load_sentence_polarity",
    "load_sms_spam",
    "load_sst2",
    "load_trec",
]
