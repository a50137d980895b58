"""Progress bars for long loops (tqdm), free of torch so any estimator can use them."""

__all__ = ["PROGRESS_VERBOSITY", "progress"]

# verbose at or above which progress bars are shown.
PROGRESS_VERBOSITY = 2


def progress(iterable, verbose, desc, total=None):
    """``iterable`` wrapped in a tqdm bar when ``verbose >= 2``, else unchanged.

    For the long loops outside a network's epochs: rounds and folds of a
    meta-estimator, batches of texts being embedded.

    Examples
    --------
    >>> from sk_mtl.utils._progress import progress
    >>> sum(progress(range(4), verbose=0, desc="folds"))
    6
    """
    if verbose is None or verbose is False or int(verbose) < PROGRESS_VERBOSITY:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
