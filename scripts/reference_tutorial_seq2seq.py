"""Plain Keras 3 version of the tutorial's 2017 seq2seq adder, with no addexp code.

It is the timing and accuracy reference for ``addexp experiment=tutorial_seq2seq``: same problem,
widths, model, optimiser and training loop (30 fits of one epoch on a fresh draw of 1000
examples, batch 10). Run: ``python scripts/reference_tutorial_seq2seq.py --seed 1``.
``--unroll --steps-per-execution 52`` runs it the way addexp executes the same model by default
(unrolled LSTMs, 52 batches per call of the compiled step), to tell the runner's own cost from
the execution's.
"""

from __future__ import annotations

import argparse
import json
import time
from math import ceil, log10
from random import randint

import keras
import numpy as np

ALPHABET = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", " "]


def random_sum_pairs(n_examples: int, n_numbers: int, largest: int):
    X, y = [], []
    for _ in range(n_examples):
        in_pattern = [randint(1, largest) for _ in range(n_numbers)]
        X.append(in_pattern)
        y.append(sum(in_pattern))
    return X, y


def to_string(X, y, n_numbers: int, largest: int):
    max_length = n_numbers * ceil(log10(largest + 1)) + n_numbers - 1
    Xstr = []
    for pattern in X:
        strp = "+".join(str(n) for n in pattern)
        Xstr.append("".join(" " for _ in range(max_length - len(strp))) + strp)
    max_length = ceil(log10(n_numbers * (largest + 1)))
    ystr = []
    for pattern in y:
        strp = str(pattern)
        ystr.append("".join(" " for _ in range(max_length - len(strp))) + strp)
    return Xstr, ystr


def one_hot(strings, alphabet):
    index = {c: i for i, c in enumerate(alphabet)}
    out = np.zeros((len(strings), len(strings[0]), len(alphabet)), dtype="float32")
    for i, s in enumerate(strings):
        for j, c in enumerate(s):
            out[i, j, index[c]] = 1.0
    return out


def generate_data(n_samples: int, n_numbers: int, largest: int):
    X, y = random_sum_pairs(n_samples, n_numbers, largest)
    X, y = to_string(X, y, n_numbers, largest)
    return one_hot(X, ALPHABET), one_hot(y, ALPHABET), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--unroll", action="store_true", help="unroll both LSTMs")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    n_terms, largest, n_chars = 2, 10, len(ALPHABET)
    n_in = n_terms * ceil(log10(largest + 1)) + n_terms - 1
    n_out = ceil(log10(n_terms * (largest + 1)))
    model = keras.Sequential(
        [
            keras.Input((n_in, n_chars)),
            keras.layers.LSTM(100, unroll=args.unroll),
            keras.layers.RepeatVector(n_out),
            keras.layers.LSTM(50, return_sequences=True, unroll=args.unroll),
            keras.layers.TimeDistributed(keras.layers.Dense(n_chars, activation="softmax")),
        ]
    )
    model.compile(
        loss="categorical_crossentropy",
        optimizer="adam",
        metrics=["accuracy"],
        steps_per_execution=args.steps_per_execution,
    )

    start = time.perf_counter()
    for _ in range(args.epochs):
        X, y, _ = generate_data(args.examples, n_terms, largest)
        model.fit(X, y, epochs=1, batch_size=10, verbose=0)
    train_seconds = time.perf_counter() - start

    X, y, _ystr = generate_data(1000, n_terms, largest)
    predicted = model.predict(X, verbose=0).argmax(-1)
    expected = y.argmax(-1)
    print(
        json.dumps(
            {
                "seed": args.seed,
                "train_seconds": round(train_seconds, 2),
                "exact_match": float((predicted == expected).all(-1).mean()),
                "char_accuracy": float((predicted == expected).mean()),
            }
        )
    )


if __name__ == "__main__":
    main()
