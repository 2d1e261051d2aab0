"""pytest settings for the notebooks, loaded as a plugin by pyproject.toml (``-p``).

They live here rather than in a ``notebooks/conftest.py``, which would sit among the
chapters in a reader's file browser.
"""

import os

# Progress bars are for people: never in stored outputs or CI logs
# (see ffn_helpers.training).
os.environ["FFN_PROGRESS"] = "0"


def pytest_collection_modifyitems(items):
    # nbval waits only 5 s for a cell's late output by default, which a loaded machine
    # can miss.
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60
