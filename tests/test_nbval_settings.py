"""The notebook settings plugin (tests/nbval_settings.py) is loaded by pyproject.toml."""

import os


def test_plugin_is_loaded_and_silences_progress_bars(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("nbval_settings")
    assert os.environ.get("FFN_PROGRESS") == "0"


def test_plugin_gives_late_cell_output_a_minute():
    import nbval_settings

    class Item:
        output_timeout = 5

    class Other:
        pass

    items = [Item(), Other()]
    nbval_settings.pytest_collection_modifyitems(items)
    assert items[0].output_timeout == 60
    assert not hasattr(items[1], "output_timeout")
