"""The tutorial's own data preparation (Brownlee 2017, "How to Learn to Add Numbers with seq2seq
Recurrent Neural Networks"), as published: Python loops over lists, one problem and one character
at a time. It is the reference the vectorised path (`addexp.problems.sampling.sample` and the
framing's `inputs`/`targets`) is timed against, so it is kept as the tutorial wrote it (names,
structure, list building and the final `array` conversion), not rewritten for speed.
"""

from __future__ import annotations

from math import ceil, log10
from random import randint

from numpy import array

ALPHABET = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", " "]


def random_sum_pairs(n_examples, n_numbers, largest):
    """n_examples lists of n_numbers integers in 1..largest, and their sums."""
    X, y = list(), list()
    for _i in range(n_examples):
        in_pattern = [randint(1, largest) for _ in range(n_numbers)]
        out_pattern = sum(in_pattern)
        X.append(in_pattern)
        y.append(out_pattern)
    return X, y


def to_string(X, y, n_numbers, largest):
    """Questions '7+10' and answers '17', left-padded with spaces to the widest possible."""
    max_length = n_numbers * ceil(log10(largest + 1)) + n_numbers - 1
    Xstr = list()
    for pattern in X:
        strp = "+".join([str(n) for n in pattern])
        strp = "".join([" " for _ in range(max_length - len(strp))]) + strp
        Xstr.append(strp)
    max_length = ceil(log10(n_numbers * (largest + 1)))
    ystr = list()
    for pattern in y:
        strp = str(pattern)
        strp = "".join([" " for _ in range(max_length - len(strp))]) + strp
        ystr.append(strp)
    return Xstr, ystr


def integer_encode(X, y, alphabet):
    """Every character as its index in the alphabet."""
    char_to_int = dict((c, i) for i, c in enumerate(alphabet))
    Xenc = list()
    for pattern in X:
        integer_encoded = [char_to_int[char] for char in pattern]
        Xenc.append(integer_encoded)
    yenc = list()
    for pattern in y:
        integer_encoded = [char_to_int[char] for char in pattern]
        yenc.append(integer_encoded)
    return Xenc, yenc


def one_hot_encode(X, y, max_int):
    """Every index as a one-hot list of max_int entries."""
    Xenc = list()
    for seq in X:
        pattern = list()
        for index in seq:
            vector = [0 for _ in range(max_int)]
            vector[index] = 1
            pattern.append(vector)
        Xenc.append(pattern)
    yenc = list()
    for seq in y:
        pattern = list()
        for index in seq:
            vector = [0 for _ in range(max_int)]
            vector[index] = 1
            pattern.append(vector)
        yenc.append(pattern)
    return Xenc, yenc


def generate_data(n_samples, n_numbers, largest, alphabet):
    """(n_samples, question width, len(alphabet)) and (n_samples, answer width, len(alphabet))
    one-hot arrays of fresh problems."""
    X, y = random_sum_pairs(n_samples, n_numbers, largest)
    X, y = to_string(X, y, n_numbers, largest)
    X, y = integer_encode(X, y, alphabet)
    X, y = one_hot_encode(X, y, len(alphabet))
    X, y = array(X), array(y)
    return X, y
