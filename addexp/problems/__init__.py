"""Problems: the operation table, problem spaces, vectorised sampling with exact answers,
typed questions, and the character codes a question is written with.

It may import `addexp.config` and `addexp.registry`."""
