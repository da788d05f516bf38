"""`python -m addexp`: the `addexp` command (`addexp.cli.train`)."""

from addexp.cli.train import cli

if __name__ == "__main__":
    cli()
