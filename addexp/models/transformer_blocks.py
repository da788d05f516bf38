"""The Keras graphs of the `transformer` family (`addexp.models.transformer`): its inputs, the
embeddings of question and answer with their positions, pre-norm attention blocks (Xiong et al.
2020) on Keras's `MultiHeadAttention`, and the encoder, decoder and decoder-only sub-models.

The question is read as the framing encodes it: symbol indices through an `Embedding`, or
one-hot features (with the position hints after the symbols, if any) through a `Dense` layer
without bias, which is an embedding of the symbol plus one of its hint. Answer symbols are
indices; their hints, if any, are projected the same way and added.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from addexp.models.transformer import ANSWER, ANSWER_HINT, ANSWER_IN, DECODER, ENCODER, QUESTION
from addexp.models.transformer_layers import (
    AbacusEncoding,
    AttentionMask,
    LastSteps,
    PositionEncoding,
    RandomOffset,
    ValidSteps,
)

ABSOLUTE = ("learned", "sinusoidal")  # positions counted along a sequence


def inputs(shapes: Any) -> dict[str, Any]:
    """The training model's inputs (free lengths): `question`, `answer_in` and, with position
    hints, `answer_hint`."""
    question = keras.Input(
        shape=(None, *shapes.input_shape[1:]),
        dtype="int32" if shapes.vocab else "float32",
        name=QUESTION,
    )
    found = {
        QUESTION: question,
        ANSWER_IN: keras.Input(shape=(None,), dtype="int32", name=ANSWER_IN),
    }
    if shapes.answer_hints:
        found[ANSWER_HINT] = keras.Input(shape=(None, shapes.answer_hints), name=ANSWER_HINT)
    return found


def _question_embedding(cfg: Any, shapes: Any, question: Any) -> Any:
    if shapes.vocab:
        return layers.Embedding(shapes.vocab, cfg.dim, name="question_embedding")(question)
    return layers.Dense(cfg.dim, use_bias=False, name="question_embedding")(question)


def _answer_embedding(cfg: Any, shapes: Any, answer_in: Any, hint: Any | None) -> Any:
    y = layers.Embedding(shapes.output_symbols, cfg.dim, name="answer_embedding")(answer_in)
    if hint is not None:
        hinted = layers.Dense(cfg.dim, use_bias=False, name="answer_hint_embedding")(hint)
        y = layers.Add(name="answer_with_hint")([y, hinted])
    return y


def _absolute(cfg: Any, x: Any, name: str) -> Any:
    """`x` with learned or sinusoidal positions along its steps (else as it is)."""
    if cfg.positions not in ABSOLUTE:
        return x
    return PositionEncoding(cfg.positions, cfg.max_positions, name=name)(x)


def _abacus(cfg: Any, shapes: Any, x: Any, symbols: Any, offsets: Any, name: str) -> Any:
    """`x` with Abacus positions of its digits (else as it is)."""
    if cfg.positions != "abacus":
        return x
    return AbacusEncoding(cfg.max_positions, shapes.digits, name=name)([x, symbols, offsets])


def block(
    cfg: Any, x: Any, mask: Any, name: str, memory: Any = None, memory_mask: Any = None
) -> tuple[Any, Any]:
    """One pre-norm block: self-attention under `mask` (batch, steps, steps), then attention
    over `memory` under `memory_mask` if given, then the feed-forward layer, each a residual.
    Returns the block's output and the attention scores of its last attention, (batch, heads,
    steps, keys)."""
    key_dim = cfg.dim // cfg.heads

    def attend(h: Any, value: Any, attention_mask: Any, kind: str) -> tuple[Any, Any]:
        attention = layers.MultiHeadAttention(
            cfg.heads, key_dim, dropout=cfg.dropout, name=f"{name}_{kind}"
        )
        out, scores = attention(
            h, value, attention_mask=attention_mask, return_attention_scores=True
        )
        return layers.Dropout(cfg.dropout)(out), scores

    h = layers.LayerNormalization(name=f"{name}_self_norm")(x)
    out, scores = attend(h, h, mask, "self")
    x = layers.Add()([x, out])
    if memory is not None:
        h = layers.LayerNormalization(name=f"{name}_cross_norm")(x)
        out, scores = attend(h, memory, memory_mask, "cross")
        x = layers.Add()([x, out])
    h = layers.LayerNormalization(name=f"{name}_ff_norm")(x)
    h = layers.Dense(cfg.ff_dim, activation="gelu", name=f"{name}_ff_in")(h)
    h = layers.Dropout(cfg.dropout)(layers.Dense(cfg.dim, name=f"{name}_ff_out")(h))
    return layers.Add()([x, h]), scores


def _offsets_input(cfg: Any) -> list[Any]:
    """The Abacus offsets' input of a sub-model, (batch,) int32 (none without Abacus)."""
    return (
        [keras.Input(shape=(), dtype="int32", name="offsets")] if cfg.positions == "abacus" else []
    )


def encoder(cfg: Any, shapes: Any) -> Any:
    """keras.Model [question[, offsets]] -> [encoded (batch, steps, dim), valid (batch, steps)
    bool]: the question's steps that are not padding (all, unless the run masks padding)."""
    question = inputs(shapes)[QUESTION]
    offsets = _offsets_input(cfg)
    x = _question_embedding(cfg, shapes, question)
    x = _absolute(cfg, x, "question_positions")
    x = _abacus(cfg, shapes, x, question, offsets[0] if offsets else None, "question_abacus")
    x = layers.Dropout(cfg.dropout)(x)
    valid = ValidSteps(shapes.mask_value is not None, name="question_valid")([question])
    mask = AttentionMask(False, name="question_mask")([valid, x])
    for i in range(cfg.layers):
        x, _ = block(cfg, x, mask, f"encoder_{i}")
    x = layers.LayerNormalization(name="encoder_norm")(x)
    return keras.Model([question, *offsets], [x, valid], name=ENCODER)


def _answer_inputs(shapes: Any) -> list[Any]:
    found = inputs(shapes)
    return [found[ANSWER_IN], *([found[ANSWER_HINT]] if shapes.answer_hints else [])]


def decoder(cfg: Any, shapes: Any) -> Any:
    """keras.Model [encoded, valid[, offsets], answer_in[, answer_hint]] -> [probabilities
    (batch, answer steps, symbols), the last block's attention over the question (batch,
    heads, answer steps, question steps)]."""
    memory = keras.Input(shape=(None, cfg.dim), name="encoded")
    valid = keras.Input(shape=(None,), dtype="bool", name="valid")
    offsets = _offsets_input(cfg)
    answer = _answer_inputs(shapes)
    y = _answer_embedding(cfg, shapes, answer[0], answer[1] if len(answer) > 1 else None)
    y = _absolute(cfg, y, "answer_positions")
    y = _abacus(cfg, shapes, y, answer[0], offsets[0] if offsets else None, "answer_abacus")
    y = layers.Dropout(cfg.dropout)(y)
    answer_valid = ValidSteps(False, name="answer_valid")([answer[0]])
    causal = AttentionMask(True, name="answer_mask")([answer_valid, y])
    cross = AttentionMask(False, name="cross_mask")([valid, y])
    scores = None
    for i in range(cfg.layers):
        y, scores = block(cfg, y, causal, f"decoder_{i}", memory, cross)
    y = layers.LayerNormalization(name="decoder_norm")(y)
    probs = layers.Dense(shapes.output_symbols, activation="softmax", name=ANSWER)(y)
    return keras.Model([memory, valid, *offsets, *answer], [probs, scores], name=DECODER)


def decoder_only(cfg: Any, shapes: Any) -> Any:
    """keras.Model [question, answer_in[, answer_hint]] -> [probabilities (batch, answer
    steps, symbols), the last block's attention (batch, heads, steps, steps) over the one
    sequence, question then answer, under a causal mask]. The probabilities are those of the
    answer's steps: the question's own next symbols are neither written nor scored."""
    question = inputs(shapes)[QUESTION]
    answer = _answer_inputs(shapes)
    x = _question_embedding(cfg, shapes, question)
    y = _answer_embedding(cfg, shapes, answer[0], answer[1] if len(answer) > 1 else None)
    if cfg.positions == "abacus":
        offsets = random_offsets(cfg)(question)
        x = _abacus(cfg, shapes, x, question, offsets, "question_abacus")
        y = _abacus(cfg, shapes, y, answer[0], offsets, "answer_abacus")
    sequence = layers.Concatenate(axis=1, name="question_then_answer")([x, y])
    sequence = _absolute(cfg, sequence, "positions")
    sequence = layers.Dropout(cfg.dropout)(sequence)
    valid = ValidSteps(shapes.mask_value is not None, name="valid")([question, answer[0]])
    mask = AttentionMask(True, name="causal_mask")([valid, sequence])
    scores = None
    for i in range(cfg.layers):
        sequence, scores = block(cfg, sequence, mask, f"decoder_{i}")
    sequence = layers.LayerNormalization(name="decoder_norm")(sequence)
    y = LastSteps(name="answer_steps")([sequence, answer[0]])
    probs = layers.Dense(shapes.output_symbols, activation="softmax", name=ANSWER)(y)
    return keras.Model([question, *answer], [probs, scores], name=DECODER)


def random_offsets(cfg: Any) -> Any:
    """The layer drawing a row's Abacus offsets in training (one per row, given to every
    sequence of the row: the encoder's and the decoder's, or both halves of one sequence)."""
    return RandomOffset(cfg.abacus_offset, name="abacus_offsets")
