"""Where the documentation sends a reader leads somewhere that exists.

The "?" of an estimator's HTML repr opens a page that ``make docs`` builds; the
benchmark scripts cite a protocol that is in the repository; a missing data file
says where to get it.
"""

import ast
import inspect
import io
import re
import tokenize
from pathlib import Path

import pytest

import sk_mtl
from benchmarks.datasets import _common

REPO = Path(__file__).resolve().parents[1]
PROTOCOL = REPO / "benchmarks" / "PROTOCOL.md"


def api_page_names():
    """The names docs/api.rst lists under ``currentmodule:: sk_mtl`` (autosummary
    writes one page, generated/sk_mtl.<name>.html, for each)."""
    text = (REPO / "docs" / "api.rst").read_text()
    top_level = text.split(".. currentmodule:: sk_mtl\n", 1)[1]
    top_level = re.split(r"\.\. currentmodule:: ", top_level)[0]
    return set(re.findall(r"^   ([A-Za-z_]\w*)$", top_level, re.M))


def public_estimators():
    classes = [getattr(sk_mtl, name) for name in sk_mtl.__all__]
    return [cls for cls in classes if inspect.isclass(cls)]


@pytest.mark.parametrize("cls", public_estimators(), ids=lambda cls: cls.__name__)
def test_html_repr_doc_link_is_a_page_of_the_local_build(cls):
    required = [
        name
        for name, param in inspect.signature(cls).parameters.items()
        if param.default is inspect.Parameter.empty
    ]
    estimator = cls(*[None] * len(required))  # __init__ only stores them
    link = estimator._get_doc_link()
    if not link:  # no "?" at all rather than a dead link
        return
    build = (REPO / "docs" / "_build" / "html").as_uri()
    assert link == f"{build}/generated/sk_mtl.{cls.__name__}.html"
    assert cls.__name__ in api_page_names(), f"docs/api.rst does not list {cls}"


def python_comments_and_docstrings(path):
    """The comments and the docstrings (module, class, function) of a file."""
    source = path.read_text()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.string
    documented = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, documented) and ast.get_docstring(node):
            yield ast.get_docstring(node)


def test_benchmark_scripts_cite_the_protocol_in_the_repository():
    scripts = sorted((REPO / "benchmarks").glob("**/*.py"))
    citing = []
    for path in scripts:
        for text in python_comments_and_docstrings(path):
            assert "shared/anchors" not in text, f"{path.name} cites {text[:80]!r}"
            if "benchmarks/PROTOCOL.md" in text:
                citing.append(path.name)
    assert {"_census.py", "hard_example_mining.py", "transfer_text.py"} <= set(citing)
    sections = re.findall(r"^## (\d)\. ", PROTOCOL.read_text(), re.M)
    assert sections == ["1", "2", "3"]


@pytest.mark.parametrize("folder", sorted(_common._SOURCES))
def test_missing_data_file_says_what_it_is_and_where_to_get_it(tmp_path, folder):
    # The loaders read every file through _data_file (tests/test_datasets.py checks
    # each loader's message names the path and SK_MTL_DATA).
    assert f"`{folder}/`" in PROTOCOL.read_text(), "PROTOCOL.md lacks the folder"
    with pytest.raises(FileNotFoundError, match="benchmarks/PROTOCOL.md") as info:
        _common._data_file(tmp_path, folder, "missing.gz")
    assert _common._SOURCES[folder] in str(info.value)
