"""Greedy and beam search over a decoder that reads its own output, vectorised over the batch.

The decoder is a step function `step(tokens, states) -> (log_probs, states)`: tokens (n,) int,
states a list of arrays whose first axis is the row (LSTM h and c, encoder outputs for
attention), log_probs (n, symbols). Searching reorders rows of the states as beams are kept, so
any decoder fits. keras-hub's samplers have the same shape but would bring in tensorflow-text
(which requires the full `tensorflow` wheel) and tokenizer packages for two loops; these stay in
NumPy, one decoder call per step for the whole batch (times the beam).

Beam search keeps the `width` most probable prefixes of every row by total log-probability (no
length normalisation); a finished prefix (it wrote `end`) stays as it is at no further cost.
Plain beam search can prune the greedy answer on the way and end below it; here the greedy
answer is one of the candidates, so a wider beam never returns a less probable answer than
greedy, and width 1 is greedy decoding exactly (Graves 2012; Wu et al. 2016 for the setting).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Step = Callable[[np.ndarray, list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]


def greedy(
    step: Step, states: list[np.ndarray], start: int, end: int, pad: int, max_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy decoding: at every step the most probable symbol. `states`: arrays with the row
    on the first axis, n rows (the decoder's own state: LSTM h and c, memory, ...). Returns
    (n, max_steps) tokens (pad after end) and (n,) total log-probability of each answer."""
    n = len(states[0])
    tokens = np.full((n, max_steps), pad, dtype=np.int32)
    score = np.zeros(n)
    previous = np.full(n, start, dtype=np.int32)
    done = np.zeros(n, bool)
    for t in range(max_steps):
        log_probs, states = step(previous, states)
        choice = log_probs.argmax(axis=1).astype(np.int32)
        score += np.where(done, 0.0, log_probs[np.arange(n), choice])
        tokens[:, t] = np.where(done, pad, choice)
        done |= choice == end
        previous = choice
        if done.all():
            break
    return tokens, score


def beam(
    step: Step,
    states: list[np.ndarray],
    start: int,
    end: int,
    pad: int,
    max_steps: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The most probable answer per row among `width` beams and the greedy answer:
    (n, max_steps) tokens and (n,) total log-probabilities. Raises ValueError for width < 1."""
    if width < 1:
        raise ValueError(f"beam width {width}; it must be >= 1")
    greedy_tokens, greedy_score = greedy(step, states, start, end, pad, max_steps)
    if width == 1:
        return greedy_tokens, greedy_score
    beam_tokens, beam_score = beam_only(step, states, start, end, pad, max_steps, width)
    better = beam_score > greedy_score  # ties keep greedy
    return (
        np.where(better[:, None], beam_tokens, greedy_tokens),
        np.where(better, beam_score, greedy_score),
    )


def beam_only(
    step: Step,
    states: list[np.ndarray],
    start: int,
    end: int,
    pad: int,
    max_steps: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain beam search: the best of `width` beams per row, (n, max_steps) tokens and (n,)
    total log-probabilities. Raises ValueError for width < 1."""
    if width < 1:
        raise ValueError(f"beam width {width}; it must be >= 1")
    n = len(states[0])
    rows = np.repeat(np.arange(n), width)  # row of every beam, beams of a row together
    states = [s[rows] for s in states]
    tokens = np.full((n * width, max_steps), pad, dtype=np.int32)
    score = np.where(np.arange(n * width) % width == 0, 0.0, -np.inf)  # one live beam at first
    previous = np.full(n * width, start, dtype=np.int32)
    done = np.zeros(n * width, bool)
    for t in range(max_steps):
        log_probs, states = step(previous, states)
        symbols = log_probs.shape[1]
        # A finished beam continues only with `pad`, at no cost.
        log_probs = np.where(done[:, None], -np.inf, log_probs)
        log_probs[done, pad] = 0.0
        total = (score[:, None] + log_probs).reshape(n, width * symbols)
        best = np.argsort(-total, axis=1, kind="stable")[:, :width]  # (n, width)
        source = (best // symbols + np.arange(n)[:, None] * width).ravel()
        choice = (best % symbols).ravel().astype(np.int32)
        score = np.take_along_axis(total, best, axis=1).ravel()
        tokens = tokens[source]
        done = done[source]
        tokens[:, t] = np.where(done, pad, choice)
        done = done | (choice == end)
        states = [s[source] for s in states]
        previous = np.where(done, pad, choice).astype(np.int32)
        if done.all():
            break
    score = score.reshape(n, width)
    top = score.argmax(axis=1)
    return tokens.reshape(n, width, max_steps)[np.arange(n), top], score[np.arange(n), top]
