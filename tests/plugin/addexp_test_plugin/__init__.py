"""addexp parts defined outside addexp, found through entry points."""
