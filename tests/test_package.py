import re

import sk_mtl


def test_version_is_pep440_like():
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", sk_mtl.__version__)


def test_all_names_are_importable():
    for name in sk_mtl.__all__:
        assert hasattr(sk_mtl, name), name
