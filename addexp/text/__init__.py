"""Text: how a problem is written as fixed-width characters (a format and its layouts:
widths, padding, reversal, reading answers back) and the position hints tagged on its digits.

It may import `addexp.problems` and the packages below it."""
