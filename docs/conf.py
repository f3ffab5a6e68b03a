"""Sphinx configuration for Erlen's documentation.

Build with ``make docs`` (warnings are errors), or
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# autodoc imports `erlen` from the source tree, so the docs describe the code
# next to them even when a different version is installed.
sys.path.insert(0, str(ROOT / "src"))


def _read_version() -> str:
    """The version string from ``src/erlen/__init__.py``, without importing the
    package (a broken import should fail autodoc, not the whole build)."""
    text = (ROOT / "src" / "erlen" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise RuntimeError(
            'docs/conf.py could not find `__version__ = "..."` in'
            " src/erlen/__init__.py. Keep that assignment at the top level."
        )
    return found.group(1)


# -- Project -----------------------------------------------------------------

project = "Erlen"
author = "Erlen contributors"
copyright = "Erlen contributors"
release = _read_version()
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
nitpicky = False

# Builds run offline, so no inventories are fetched.  To link to another
# project's docs, add it here with a local inventory file, for example
# ``{"python": ("https://docs.python.org/3/", "python-objects.inv")}``.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

myst_enable_extensions = ["colon_fence", "deflist"]
# Give headings anchors so pages can link to `page.md#a-heading`.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Show defaults as written in the source (`json.loads`, not `<function loads>`).
autodoc_preserve_defaults = True

# -- HTML --------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"Erlen {release}"
