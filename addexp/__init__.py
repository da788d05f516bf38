"""addexp: config-driven experiments on learning arithmetic from character strings.

The packages follow the data, each importing only those before it:

    config -> problems -> text -> framing -> models -> evaluation -> training -> tracking
    -> sweeps -> cli   (and benchmarks, which measure the whole)

`addexp.registry` (the generic registry of parts and their entry points) sits below them all.
The contracts in pyproject.toml (`lint-imports`) hold the packages to this order.
"""
