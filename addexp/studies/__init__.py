"""Published studies: the runs behind the measured pages of `docs/` and the pages themselves.

A study (`addexp.studies.study.Study`, one entry of `STUDIES`) names the `addexp` sweeps that
make its runs (`addexp.studies.commands`) and writes its page from those runs only, every
measured number in a table whose specification the page carries (`addexp.studies.tables`).
`addexp-study` (`addexp.studies.command`) makes the runs afresh into one store, records what it
ran in a manifest (commit, versions, commands, times) and writes the pages.

It may import `addexp.benchmarks` (the machine's description), `addexp.cli` (the runs' own
grouping and plots) and every package below them.
"""
