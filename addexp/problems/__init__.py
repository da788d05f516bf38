"""Problems: what is drawn and how, with exact answers.

- `operations`: the operation table (registry `OPERATIONS`, `Operation`).
- `space`: `Problems` (operand rows, templates, exact values), `ProblemSpace`, question keys,
  and the `data` config keys mapped onto a space (`SPACE_KEYS`, `space_from_config`).
- `sampling`: vectorised drawing: operands, expression trees, `sample`, `sample_distinct`.
- `bounds`: the value range a space's expressions can take.
- `sets`: evaluation sets, each the training space with its keys applied.
- `checks`: the checks of the problem keys of `data` and of every evaluation set.
- `questions`: questions typed by a person read into problems.
- `codes`: the character codes a question is written with.

It may import `addexp.config` and `addexp.registry`."""
