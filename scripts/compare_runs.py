"""Compare MLflow runs grouped by config keys (the same program as `addexp-compare`)."""

from addexp.cli.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
