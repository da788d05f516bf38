"""Puts this package's `conf/` on Hydra's search path: `model=gru_seq2seq` is then an option of
the `model` group like addexp's own."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class GruExampleSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="addexp-gru-example", path="pkg://addexp_gru_example/conf")
