"""Greedy and beam search on decoders with known probabilities (NumPy); on a trained model in
test_predict.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from addexp.models.search import beam, beam_only, greedy

START, END, PAD = 1, 2, 0


def markov_decoder(seed: int, symbols: int):
    """A decoder whose next-symbol distribution depends on the previous symbol and a decaying
    memory of all earlier ones (so greedy is not always optimal); states: [memory]."""
    rng = np.random.default_rng(seed)
    table = rng.normal(0, 2.0, (symbols, symbols))
    mix = rng.normal(0, 2.0, (symbols, symbols))

    def step(tokens, states):
        memory = 0.5 * states[0] + np.eye(symbols)[tokens]
        logits = table[tokens] + memory @ mix
        logits[:, START] = -np.inf  # START is never written
        log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        return log_probs, [memory]

    return step


def rescore(step, states, tokens, max_steps):
    """Total log-probability of given answers, fed back step by step (up to their END)."""
    n = len(tokens)
    previous = np.full(n, START)
    total, done = np.zeros(n), np.zeros(n, bool)
    for t in range(max_steps):
        log_probs, states = step(previous, states)
        total += np.where(done, 0.0, log_probs[np.arange(n), tokens[:, t]])
        done |= tokens[:, t] == END
        previous = tokens[:, t]
    return total


decoders = st.tuples(st.integers(0, 10_000), st.integers(4, 7))


@given(decoder=decoders, rows=st.integers(1, 6), steps=st.integers(1, 5))
@settings(max_examples=60, deadline=None)
def test_beam_of_width_one_is_greedy_decoding_exactly(decoder, rows, steps):
    seed, symbols = decoder
    step, states = markov_decoder(seed, symbols), [np.zeros((rows, symbols))]
    g_tokens, g_score = greedy(step, states, START, END, PAD, steps)
    b_tokens, b_score = beam_only(step, states, START, END, PAD, steps, width=1)
    assert (b_tokens == g_tokens).all()
    np.testing.assert_allclose(b_score, g_score)
    np.testing.assert_allclose(rescore(step, states, g_tokens, steps), g_score)


# a decoder on which plain beam search of width 2 drops the answer greedy finds (rare: about 1
# row in 10,000 of random Markov decoders), so that the test fails if beam() stops keeping it
PLAIN_BEAM_LOSES = {"decoder": (2623, 7), "rows": 1, "steps": 5, "width": 2}


@given(decoder=decoders, rows=st.integers(1, 6), steps=st.integers(1, 5), width=st.integers(2, 6))
@example(**PLAIN_BEAM_LOSES)
@settings(max_examples=60, deadline=None)
def test_a_wider_beam_never_returns_a_less_probable_answer(decoder, rows, steps, width):
    seed, symbols = decoder
    step, states = markov_decoder(seed, symbols), [np.zeros((rows, symbols))]
    _, g_score = greedy(step, states, START, END, PAD, steps)
    tokens, score = beam(step, states, START, END, PAD, steps, width)
    assert (score >= g_score - 1e-9).all()
    np.testing.assert_allclose(rescore(step, states, tokens, steps), score)


def test_plain_beam_search_can_lose_what_greedy_finds():
    """The case the example above holds: without the greedy pass, width 2 scores below greedy."""
    (seed, symbols), steps, width = (PLAIN_BEAM_LOSES[k] for k in ("decoder", "steps", "width"))
    step, states = markov_decoder(seed, symbols), [np.zeros((PLAIN_BEAM_LOSES["rows"], symbols))]
    _, g_score = greedy(step, states, START, END, PAD, steps)
    _, b_score = beam_only(step, states, START, END, PAD, steps, width)
    assert b_score[0] < g_score[0] - 0.1


@given(decoder=decoders, steps=st.integers(1, 3))
@settings(max_examples=30, deadline=None)
def test_a_beam_as_wide_as_every_prefix_finds_the_best_answer(decoder, steps):
    seed, symbols = decoder
    step, states = markov_decoder(seed, symbols), [np.zeros((1, symbols))]
    every = np.array(list(itertools.product(range(symbols), repeat=steps)))
    scores = rescore(step, [np.zeros((len(every), symbols))], every, steps)
    valid = ~np.isin(every, [START]).any(axis=1)
    ends = every == END
    after_end = (np.cumsum(ends, axis=1) - ends) > 0
    valid &= ~(after_end & (every != PAD)).any(axis=1)  # nothing but padding after END
    best = scores[valid].max()
    _, score = beam_only(step, states, START, END, PAD, steps, width=symbols**steps)
    np.testing.assert_allclose(score, [best])


def test_plain_beam_search_refuses_a_width_below_one():
    with pytest.raises(ValueError, match="beam width 0; it must be >= 1"):
        beam_only(lambda tokens, states: (None, states), [np.zeros((2, 1))], 0, 1, 2, 3, 0)
