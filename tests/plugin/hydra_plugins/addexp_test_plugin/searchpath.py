"""Adds this package's `conf/` to Hydra's search path, so `model=conv_tagger` and
`format=separated` are config group options like addexp's own."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class AddexpTestPluginSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="addexp-test-plugin", path="pkg://addexp_test_plugin/conf")
