"""Text sets: TREC and the CR/MR/Subj sentence-polarity sets; few-shot sampling."""

import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from ._common import (
    _check_1d,
    _check_choice,
    _check_seed,
    _data_file,
    _import_pandas,
    _read_text_lines,
)

_POLARITY_FILES = {
    "cr": ("custrev.pos.gz", "custrev.neg.gz"),
    "mr": ("rt-polarity.pos.gz", "rt-polarity.neg.gz"),
    "subj": ("subj.subjective.gz", "subj.objective.gz"),
}


_DESCR = {
    "trec": """\
TREC question classification (Li & Roth 2002): 5,452 train and 500 test
questions, each with a coarse label (6 classes) and a fine label (50 classes,
written "COARSE:fine"), so it is also a two-task text set.""",
    "cr": """\
CR customer reviews (Hu & Liu 2004): 2,405 positive then 1,366 negative
sentences (3,771 non-blank). target: 1 = positive, 0 = negative.""",
    "mr": """\
MR movie-review sentences (Pang & Lee 2005): 5,331 positive then 5,331
negative. target: 1 = positive, 0 = negative.""",
    "subj": """\
Subjectivity data set (Pang & Lee 2004): 5,000 subjective then 5,000 objective
sentences. target: 1 = subjective, 0 = objective.""",
}


def _read_trec(path, pd):
    questions, fine = [], []
    for lineno, line in enumerate(_read_text_lines(path, "latin-1"), start=1):
        if not line.strip():
            continue
        label, _, question = line.partition(" ")
        coarse, colon, detail = label.partition(":")
        if not (colon and coarse and detail and question.strip()):
            raise ValueError(
                f"{path}, line {lineno}: expected 'COARSE:fine question', "
                f"got {line[:60]!r}."
            )
        questions.append(question.strip())
        fine.append(label)
    fine = pd.Series(fine, dtype=str)
    coarse = fine.str.partition(":")[0]
    return questions, pd.DataFrame({"coarse": coarse, "fine": fine})


def load_trec(data_home=None):
    """Load TREC question classification as a two-task text set.

    Each line of the files reads ``COARSE:fine question`` (latin-1). The coarse
    label has 6 classes (ABBR, DESC, ENTY, HUM, LOC, NUM); the fine label has 50,
    written ``"COARSE:fine"`` (e.g. ``"DESC:manner"``) so it is unique on its own.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``trec/train_5500.label.gz`` and ``trec/TREC_10.label.gz``;
        see :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data_train`` (list of 5,452 questions), ``data_test`` (list of
        500 questions), ``target_train`` and ``target_test`` (DataFrames with
        string columns ``coarse`` and ``fine``), ``task_names``
        (``["coarse", "fine"]``) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If a line does not read ``COARSE:fine question``.

    Examples
    --------
    >>> from benchmarks.datasets import load_trec
    >>> trec = load_trec("/data/sk_mtl")  # doctest: +SKIP
    >>> trec.data_train[0], trec.target_train.iloc[0].tolist()  # doctest: +SKIP
    ('How did serfdom develop in and then leave Russia ?', ['DESC', 'DESC:manner'])
    """
    pd = _import_pandas()
    train = _read_trec(_data_file(data_home, "trec", "train_5500.label.gz"), pd)
    test = _read_trec(_data_file(data_home, "trec", "TREC_10.label.gz"), pd)
    return Bunch(
        data_train=train[0],
        data_test=test[0],
        target_train=train[1],
        target_test=test[1],
        task_names=["coarse", "fine"],
        DESCR=_DESCR["trec"],
    )


def _nonblank_lines(path, encoding):
    return [line.strip() for line in _read_text_lines(path, encoding) if line.strip()]


def load_sentence_polarity(name, data_home=None):
    """Load a sentence-polarity set: CR, MR or Subj.

    The sentences come in the order of the reference baselines: the whole
    positive file, then the whole negative file (latin-1, blank lines dropped,
    surrounding whitespace stripped).

    Parameters
    ----------
    name : {"cr", "mr", "subj"}
        ``"cr"``: customer reviews (2,405 positive + 1,366 negative non-blank
        sentences = 3,771); ``"mr"``: movie reviews (5,331 + 5,331 = 10,662);
        ``"subj"``: 5,000 subjective + 5,000 objective sentences.
    data_home : str or path-like, default=None
        Folder holding ``sentence_polarity/``; see :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data`` (list of str), ``target`` (int ndarray: 1 = positive,
        or 1 = subjective for ``"subj"``; 0 otherwise) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If ``name`` is unknown.

    See Also
    --------
    few_shot_split : The test split and few-shot samples of the reference baselines.

    Examples
    --------
    >>> from benchmarks.datasets import load_sentence_polarity, few_shot_split
    >>> cr = load_sentence_polarity("cr", "/data/sk_mtl")  # doctest: +SKIP
    >>> len(cr.data)  # doctest: +SKIP
    3771
    >>> train, test = few_shot_split(cr.target, n_per_class=8, seed=0)
    ... # doctest: +SKIP
    """
    _check_choice(name, tuple(_POLARITY_FILES), "name")
    pos_file, neg_file = _POLARITY_FILES[name]
    pos = _nonblank_lines(
        _data_file(data_home, "sentence_polarity", pos_file), "latin-1"
    )
    neg = _nonblank_lines(
        _data_file(data_home, "sentence_polarity", neg_file), "latin-1"
    )
    target = np.concatenate(
        [np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)]
    )
    return Bunch(data=pos + neg, target=target, DESCR=_DESCR[name])


def few_shot_split(y, n_per_class, seed):
    """Test split and few-shot training sample of the reference baselines.

    The test split does not depend on ``seed``::

        train_idx, test_idx = train_test_split(arange(n), test_size=0.3,
                                               stratify=y, random_state=0)

    The few-shot sample for a seed ``s`` draws ``n_per_class`` training rows of
    each class, class 0 first, then class 1 (classes in sorted order)::

        rng = np.random.default_rng(s)
        rng.choice(train_idx[y[train_idx] == c], n_per_class, replace=False)

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels, in the order of :func:`load_sentence_polarity`.
    n_per_class : int or None
        Training rows per class. ``None`` returns the whole training part
        (the "full train" column of the baselines).
    seed : int
        The seed ``s`` of the few-shot sample; the baselines use 0 to 4.

    Returns
    -------
    train_idx : ndarray of int
        The few-shot training rows: the class-0 draws, then the class-1 draws.
    test_idx : ndarray of int
        The test rows (30 %).

    Raises
    ------
    ValueError
        If a class has fewer than ``n_per_class`` training rows.

    Examples
    --------
    >>> import numpy as np
    >>> from benchmarks.datasets import few_shot_split
    >>> y = np.array([1] * 60 + [0] * 40)
    >>> train, test = few_shot_split(y, n_per_class=8, seed=0)
    >>> len(train), len(test), np.bincount(y[train]).tolist()
    (16, 30, [8, 8])
    """
    y = _check_1d(y, "y")
    seed = _check_seed(seed)
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=0.3, stratify=y, random_state=0
    )
    if n_per_class is None:
        return train_idx, test_idx
    if (
        not isinstance(n_per_class, numbers.Integral)
        or isinstance(n_per_class, bool)
        or n_per_class < 1
    ):
        raise ValueError(
            f"n_per_class must be a positive int or None, got {n_per_class!r}."
        )
    rng = np.random.default_rng(seed)
    parts = []
    for c in np.unique(y):
        pool = train_idx[y[train_idx] == c]
        if len(pool) < n_per_class:
            raise ValueError(
                f"Class {c!r} has only {len(pool)} training rows; cannot draw "
                f"n_per_class={n_per_class}."
            )
        parts.append(rng.choice(pool, n_per_class, replace=False))
    return np.concatenate(parts), test_idx
