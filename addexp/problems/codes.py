"""Integers and expression templates written straight into character codes, whole arrays at once.

A row's text is laid out by arithmetic on int64 arrays: its digits by repeated integer division
by 10 (NumPy divides an array by a scalar through libdivide: a multiply and a shift, no
hardware division per element), each template character's place by the running count of
characters before it, and the codes are scattered into one (n, width) uint32 array of Unicode
code points. Viewed as '<U1' that array is the characters a model reads;
viewed as '<U{width}' (rows padded with NUL) it is the unpadded strings. This is the hot path of
every fresh epoch, so it avoids NumPy's string functions (`np.strings.replace`, `rjust`,
`astype(str)`), which build and copy a string per element: written here, not taken from a
library, because none lays out digits and templates into fixed-width code arrays. Only int64
values take this path; Python integers (object arrays, beyond int64) are written as strings.

Every function returns exactly the characters of the string path (`Problems.questions`,
`TextFormat.questions`, `TextFormat.answers`); the tests compare the two over many spaces.
"""

from __future__ import annotations

import numpy as np

NUL = 0  # fill of unpadded strings: '<U{w}' ignores trailing NULs
ZERO, MINUS, SPACE = ord("0"), ord("-"), ord(" ")
LARGEST_POWER = 18  # 10**18 < 2**63: the digits of any int64 but -2**63


def char_counts(values: np.ndarray) -> np.ndarray:
    """Characters of each int64 in decimal, sign included: same shape as `values`, int64.
    Values must be above -2**63 (their magnitude is taken)."""
    signed = values.min(initial=0) < 0
    magnitude = np.abs(values) if signed else values
    counts = 1 + (values < 0) if signed else np.ones(values.shape, np.int64)
    largest = int(magnitude.max(initial=0))
    for power in range(1, min(len(str(largest)), LARGEST_POWER + 1)):
        counts += magnitude >= 10**power
    return counts


def _running_sum(rows: np.ndarray, dtype: type = np.int64) -> np.ndarray:
    """Cumulative sum down axis 0 of a (m, n) array, one contiguous row at a time (NumPy's
    `cumsum(axis=0)` walks the short axis in its inner loop, several times slower here)."""
    total = rows.astype(dtype)
    for i in range(1, len(total)):
        np.add(total[i - 1], total[i], out=total[i])
    return total


def _fits(lengths: np.ndarray, width: int) -> None:
    longest = int(lengths.max(initial=0))
    if longest > width:
        raise ValueError(f"a string of {longest} characters does not fit width {width}")


def _digit_codes(values: np.ndarray, chars: np.ndarray, places: int, inner_fill: int):
    """Codes of `values` one place at a time, least significant first: for place k, the digit
    where k is below the digit count, '-' at the sign's place, `inner_fill` beyond."""
    negative = values < 0
    signed = bool(negative.any())
    magnitude = np.abs(values) if signed else values
    digits = chars - negative if signed else chars
    fewest = int(digits.min()) if digits.size else 0
    for k in range(places):
        quotient = magnitude // 10
        code = magnitude - 10 * quotient + ZERO
        if k >= fewest:  # some values have no digit here
            code = np.where(k < digits, code, inner_fill)
            if signed:
                code = np.where((k == digits) & negative, MINUS, code)
        magnitude = quotient
        yield k, code


class _Layout:
    """Where a row's characters go in the flat (n * width + 1) output: rows of `lengths`
    characters padded on `side` to `width`, reversed with `reverse`; the last entry takes
    what belongs nowhere."""

    def __init__(self, lengths: np.ndarray, width: int, side: str, fill: int, reverse: bool):
        n = len(lengths)
        self.out = np.full(n * width + 1, fill, dtype=np.uint32)
        self.drop = n * width
        first = np.arange(n) * width + (width - lengths if side == "left" else 0)
        if reverse:  # a row's first character goes where its last would be
            first = np.arange(1, n + 1) * width - 1 - (first - np.arange(n) * width)
        self.first, self.step = first, -1 if reverse else 1
        self.shape = (n, width)

    def place(self, index: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """Flat positions of the characters at `index` within their row's text (those not
        in `keep`, if given, go nowhere)."""
        at = self.first + index if self.step > 0 else self.first - index
        return at if keep is None else np.where(keep, at, self.drop)

    def operand(self, values: np.ndarray, chars: np.ndarray, field: np.ndarray, end: np.ndarray):
        """Write operands right-aligned in fields of `field` characters ending before `end`."""
        narrowest = int(field.min()) if field.size else 0
        for k, code in _digit_codes(values, chars, int(field.max(initial=0)), SPACE):
            self.out[self.place(end - 1 - k, k < field if k >= narrowest else None)] = code

    def codes(self) -> np.ndarray:
        return self.out[:-1].reshape(self.shape)


def integer_codes(
    values: np.ndarray, width: int, side: str = "left", fill: int = SPACE, reverse: bool = False
) -> np.ndarray:
    """(n,) int64 -> (n, width) uint32 code points of their decimal text, padded with `fill` on
    `side` ('left': right-aligned) and, with `reverse`, written last character first. Raises
    ValueError (as `text.pad` does) when a value needs more than `width` characters."""
    values = np.asarray(values, dtype=np.int64)
    chars = char_counts(values)
    _fits(chars, width)
    layout = _Layout(chars, width, side, fill, reverse)
    layout.operand(values, chars, chars, chars)
    return layout.codes()


def expression_codes(
    operands: np.ndarray,
    templates: np.ndarray,
    width: int | None = None,
    side: str = "left",
    fill: int = SPACE,
    operand_width: int = 0,
    reverse: bool = False,
    slot: str = "#",
) -> np.ndarray:
    """Questions as code points: every `slot` of a row's template (n,) replaced by its next
    operand (n, terms) int64 (operands beyond a row's slots are ignored), each operand
    right-aligned with spaces in a field of `operand_width` characters if given (per-term
    padding). Returns (n, width) uint32, padded with `fill` on `side` ('left': right-aligned),
    reversed with `reverse`; `width=None`: the longest row's length. Raises ValueError when a
    row needs more than `width` characters.

    Rows that share one template (fixed term count without brackets: the common case) are laid
    out operand by operand along that template; otherwise each row's template is read."""
    n = len(operands)
    if n == 0:
        return np.zeros((0, width or 0), dtype=np.uint32)
    templates = np.ascontiguousarray(templates, dtype=str)
    columns = np.ascontiguousarray(operands.T)  # (terms, n): one contiguous row per operand
    chars = char_counts(columns)
    field = np.maximum(chars, operand_width)
    shared = bool((templates == templates[0]).all())
    lay_out = _shared_template if shared else _own_templates
    return lay_out(columns, chars, field, templates, width, side, fill, reverse, slot)


def _shared_template(columns, chars, field, templates, width, side, fill, reverse, slot):
    """`expression_codes` of rows that all have the template `templates[0]`."""
    template = str(templates[0])
    slots = template.count(slot)
    lengths = np.full(columns.shape[1], len(template) - slots, dtype=np.int64)
    for j in range(slots):
        lengths += field[j]
    width = int(lengths.max(initial=0)) if width is None else width
    _fits(lengths, width)
    layout = _Layout(lengths, width, side, fill, reverse)
    end, j = np.zeros_like(lengths), 0  # characters written so far
    for symbol in template:
        if symbol == slot:
            end += field[j]
            layout.operand(columns[j], chars[j], field[j], end)
            j += 1
        else:
            layout.out[layout.place(end)] = ord(symbol)
            end += 1
    return layout.codes()


def _own_templates(columns, chars, field, templates, width, side, fill, reverse, slot):
    """`expression_codes` of rows whose templates differ (variable term counts, brackets):
    every array holds one template character per row, (template width, n)."""
    n, terms = columns.shape[1], columns.shape[0]
    t_codes = np.ascontiguousarray(templates.view(np.uint32).reshape(n, -1).T)
    is_slot = t_codes == ord(slot)
    literal = ~is_slot & (t_codes != NUL)
    nth_slot = _running_sum(is_slot, np.int32)  # j + 1 at the j-th slot
    span = literal.astype(np.int64)  # characters each template character becomes
    slot_masks = [is_slot & (nth_slot == j + 1) for j in range(terms)]
    for j, mask in enumerate(slot_masks):
        span = np.where(mask, field[j], span)
    end = _running_sum(span)  # one past the last character each template character writes
    lengths = end[-1] if len(end) else np.zeros(n, np.int64)
    width = int(lengths.max(initial=0)) if width is None else width
    _fits(lengths, width)
    layout = _Layout(lengths, width, side, fill, reverse)
    layout.out[layout.place(end - 1, literal)] = t_codes
    for j, mask in enumerate(slot_masks):
        operand_end = np.where(mask, end, 0).max(axis=0)  # 0: the row has no such operand
        reach = np.where(operand_end > 0, field[j], 0)
        layout.operand(columns[j], chars[j], reach, operand_end)
    return layout.codes()


def as_chars(codes: np.ndarray) -> np.ndarray:
    """(n, w) uint32 code points -> (n, w) '<U1' characters (a view, no copy)."""
    return codes.view("<U1")


def as_strings(codes: np.ndarray) -> np.ndarray:
    """(n, w) uint32 code points, NUL-padded on the right -> (n,) strings (a view, no copy)."""
    if codes.shape[1] == 0:
        return np.zeros(len(codes), dtype="<U1")
    return np.ascontiguousarray(codes).view(f"<U{codes.shape[1]}").ravel()
