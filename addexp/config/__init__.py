"""Configuration: the typed schemas Hydra composes, the check vocabulary every part uses to
report a mistake (`ConfigError`: one paragraph naming the key), interpolations and Hydra's
composition errors.

It may import `addexp.registry` only: every other package reads its schemas and raises its
errors, and what a part may be configured to is asked of that part's registry."""
