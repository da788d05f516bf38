"""Framing: problems to model arrays and model outputs back to answers (the sequence,
autoregressive, aligned and mapping framings), the alphabet and input encodings, and the layout
each question is written in.

It may import `addexp.text` and the packages below it."""
