"""Sphinx configuration of the sk_mtl documentation.

Build with ``make docs`` (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``). The build works offline: no intersphinx inventories are
fetched.
"""

import os
import sys
from pathlib import Path

from docutils.parsers.rst import Directive
from docutils.parsers.rst.directives import flag

# The gallery's examples run inside this process. One OpenMP thread: on a small
# or shared machine, spinning OpenMP threads (HistGradientBoosting in the tabular
# example) made one 2,000-row fit take 10 s instead of 0.3 s under load. It must be
# set before the first OpenMP runtime loads; the estimators' n_threads="auto"
# follows it too. Set OMP_NUM_THREADS yourself to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Document this checkout's package, not an installed copy.
REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import sk_mtl  # noqa: E402

# -- Project ----------------------------------------------------------------
project = "sk_mtl"
author = "The sk_mtl developers"
copyright = "The sk_mtl developers"
release = sk_mtl.__version__
version = ".".join(release.split(".")[:2])

# -- General ----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# The API pages are generated into docs/generated/ (git-ignored).
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
# An override without a docstring (e.g. a torch module's ``forward``) shows nothing
# rather than the base class's text.
autodoc_inherit_docstrings = False

# numpydoc renders the docstrings; autodoc's ``:members:`` (in our templates)
# lists the methods, so numpydoc must not list them a second time.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# The ``>>>`` examples of the pages (and of the docstrings they include) run with
# ``python -m sphinx -b doctest docs docs/_build/doctest``.
# The docstrings of sk_mtl.modules and sk_mtl.losses use their module's names.
doctest_global_setup = """
import numpy as np
import torch
from sk_mtl.losses import *
from sk_mtl.modules import *
"""
trim_doctest_flags = True

# -- Gallery ----------------------------------------------------------------
# examples/gallery/*.py are run at every build (each in a fresh namespace, the
# matplotlib figures they make are captured) and rendered into
# docs/auto_examples/ (git-ignored). ``make docs`` therefore also checks that
# every example still runs: an example that raises fails the build.
sphinx_gallery_conf = {
    "examples_dirs": str(REPO_ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run every example, not only plot_*.py
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" lists on the API pages, and links from the code to them.
    "doc_module": ("sk_mtl",),
    "reference_url": {"sk_mtl": None},
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "download_all_examples": False,
    "first_notebook_cell": None,
    "reset_modules": ("matplotlib", "seaborn"),
}

# -- HTML -------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:  # pragma: no cover - the docs extra installs it
    html_theme = "alabaster"
    html_theme_options = {}
else:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_title = f"sk_mtl {release}"
html_static_path = ["_static"]
html_show_sourcelink = False


# -- autodoc ----------------------------------------------------------------
# Methods inherited from scikit-learn are documented by scikit-learn; their
# docstrings point into its glossary and user guide, which this build cannot
# resolve (set_output, set_fit_request, ClassifierMixin.score, ...). Keep only
# these generic ones.
SKLEARN_MEMBERS_KEPT = {"get_params", "set_params", "fit_transform"}


def skip_sklearn_members(app, what, name, obj, skip, options):
    """Leave out the members an estimator inherits from scikit-learn."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] == "sklearn" and name not in SKLEARN_MEMBERS_KEPT:
        return True
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return skip


# -- Page contents ----------------------------------------------------------
class NoLocalContents(Directive):
    """``.. contents::`` that renders nothing.

    The theme's right sidebar ("On this page") is already the page's table of
    contents; docutils' directive would repeat it at the top of the page and turn
    every section title into a link back to it.
    """

    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {"local": flag, "depth": int, "backlinks": str, "class": str}

    def run(self):
        return []


def setup(app):
    app.connect("autodoc-skip-member", skip_sklearn_members)
    app.add_directive("contents", NoLocalContents, override=True)
