"""The Transformer (Vaswani et al. 2017) writing its answer symbol by symbol, in two variants:
`encoder_decoder` (an encoder over the question, a decoder over the answer attending to it) and
`decoder_only` (question and answer read as one sequence under a causal mask, the loss on the
answer's steps only: the framing's targets and weights cover the answer alone). Attention is
Keras's `MultiHeadAttention`; blocks are pre-layer-normalised (Xiong et al. 2020).

Positions (`model.positions`): `learned` absolute positions, `sinusoidal` ones (Vaswani et
al.), `none` (the causal mask alone orders a decoder's steps; Kazemnejad et al. 2023), `abacus`
(each digit's index within its own number, with a random offset in training: McLeish et al.
2024; `addexp.models.transformer_layers.AbacusEncoding`), and `coupled` (digits of equal
significance share a position: Cho et al. 2024, "Position Coupling"), which are the format's
position hints (`addexp.text.hints`): a hint's one-hot vector, projected with the question's
symbols and beside each answer symbol, is a learned embedding of its coupled position. With any
other `positions` the hints, if given, are added to them.

Decoding runs the same greedy and beam search as the recurrent decoders
(`addexp.models.search`). Keras's `MultiHeadAttention` keeps no key/value cache, so every step
runs the decoder over the whole answer prefix (padded to the layout's answer steps, which the
causal mask keeps out of the steps before) and reads the step being written: an answer of S
steps costs S decoder passes of S steps, small beside the question at the lengths addexp
writes, and decoding is the trained graph itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.config.checks import ConfigError, at_least, choice, rate
from addexp.models import ModelFamily

NAME = "transformer"
VARIANTS = ("encoder_decoder", "decoder_only")
POSITIONS = ("learned", "sinusoidal", "none", "abacus", "coupled")
QUESTION, ANSWER_IN, ANSWER_HINT, ANSWER = "question", "answer_in", "answer_hint", "answer"
ENCODER, DECODER = "encoder", "decoder"  # the sub-models decoding runs


@dataclass
class Config:
    """Stacks of `layers` pre-norm blocks of `heads`-head attention over `dim` features and a
    feed-forward layer of `ff_dim` units; the positions as `positions` says."""

    name: str = NAME  # the family, as model=NAME chose it
    variant: str = "encoder_decoder"  # encoder_decoder | decoder_only
    layers: int = 2  # blocks in the encoder and in the decoder (decoder_only: in the one stack)
    heads: int = 4  # attention heads per block; `dim` is split among them
    dim: int = 64  # features of every step (the embeddings' size)
    ff_dim: int = 256  # units of each block's feed-forward layer
    dropout: float = 0.0  # after the embeddings, in attention weights and after each sub-layer
    positions: str = "abacus"  # learned | sinusoidal | none | abacus | coupled
    max_positions: int = 512  # rows of the learned (and abacus) position tables
    abacus_offset: int = 100  # abacus: largest random offset of a row's indices in training
    beam_width: int = 1  # 1: greedy decoding; more: beam search of that width


def check(m: Any) -> None:
    """The family's own keys. Raises ConfigError naming the key."""
    choice("model.variant", m.variant, list(VARIANTS))
    choice("model.positions", m.positions, list(POSITIONS))
    for key in ("layers", "heads", "dim", "ff_dim", "max_positions", "beam_width"):
        at_least(f"model.{key}", m[key], 1)
    at_least("model.abacus_offset", m.abacus_offset, 0)
    rate("model.dropout", m.dropout)
    if m.dim % m.heads:
        raise ConfigError(
            f"model.dim={m.dim} is split evenly among model.heads={m.heads} attention heads; "
            f"choose a multiple of the heads (e.g. {m.heads * (m.dim // m.heads + 1)}) or other "
            "heads."
        )


def check_run(cfg: Any) -> None:
    """`model.positions` against the format and encoding: coupled positions are the format's
    position hints; abacus positions find digits by their symbols. Raises ConfigError."""
    positions = cfg.model.positions
    others = ", ".join(p for p in POSITIONS if p != positions)
    if positions == "coupled" and not cfg.format.get("position_hints", 0):
        raise ConfigError(
            "model.positions=coupled gives digits of equal significance one position through "
            "the format's position hints (Cho et al. 2024), and format.position_hints=0 gives "
            "none: set format.position_hints=N (e.g. 64, with format.reverse_output=true), or "
            f"choose model.positions from: {others}."
        )
    if positions == "abacus" and cfg.encoding.name == "integer":
        raise ConfigError(
            "model.positions=abacus finds each digit by its symbol, and encoding=integer "
            "writes a symbol as one scaled number: use encoding=onehot or encoding=embedding, "
            f"or choose model.positions from: {others}."
        )


def positions_needed(cfg: Any, question_steps: int, answer_steps: int) -> int:
    """Rows of the position table that questions of `question_steps` and answers of
    `answer_steps` (END included) use: the steps of the longest sequence a stack reads
    (`learned`), the longest number's digits plus one (`abacus`, at inference), else 0."""
    if cfg.positions == "learned":
        if cfg.variant == "decoder_only":
            return question_steps + answer_steps
        return max(question_steps, answer_steps)
    if cfg.positions == "abacus":
        return max(question_steps, answer_steps) + 1
    return 0


def reach(question_width: int, answer_width: int, cfg: Any) -> str | None:
    """None when the position table holds a layout this wide (`ModelFamily.reach`), else the
    clause that says it does not: questions of `question_width` steps and answers of
    `answer_width` characters, END after them."""
    needed = positions_needed(cfg, question_width, answer_width + 1)
    if needed <= cfg.max_positions:
        return None
    return (
        f"needs {needed} rows of the {cfg.positions} position table (questions of "
        f"{question_width} steps, answers of up to {answer_width + 1} with END), more than "
        f"model.max_positions={cfg.max_positions} holds: train with a larger "
        "model.max_positions"
    )


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model {question: (batch, steps, features) or (batch, steps) indices, answer_in:
    (batch, answer steps) int[, answer_hint: (batch, answer steps, shapes.answer_hints)]} ->
    (batch, answer steps, symbols) softmax. Both lengths are free. It holds the sub-models
    decoding runs: `decoder` (answer probabilities and the attention over the question) and,
    for the encoder-decoder, `encoder` (question -> its encoded steps and which are padding).
    The layouts it reads are those `reach` allows."""
    import keras

    from addexp.models import transformer_blocks as blocks

    inputs = blocks.inputs(shapes)
    answer_inputs = [inputs[ANSWER_IN], *([inputs[ANSWER_HINT]] if shapes.answer_hints else [])]
    if cfg.variant == "decoder_only":
        decoder = blocks.decoder_only(cfg, shapes)
        probs, _ = decoder([inputs[QUESTION], *answer_inputs])
    else:
        encoder = blocks.encoder(cfg, shapes)
        decoder = blocks.decoder(cfg, shapes)
        abacus = cfg.positions == "abacus"
        offsets = [blocks.random_offsets(cfg)(inputs[QUESTION])] if abacus else []
        memory, valid = encoder([inputs[QUESTION], *offsets])
        probs, _ = decoder([memory, valid, *offsets, *answer_inputs])
    return keras.Model(inputs, probs, name=NAME)


@dataclass
class Decoding:
    """The sub-models of a trained model, and what every step feeds them: `context` the rows'
    question (decoder-only) or encoded question and its valid steps (encoder-decoder), then
    the answer prefix (n, steps) int32, the step being written (n,) int32 and, with position
    hints, every answer step's hint (n, steps, hints)."""

    decoder: Any
    encoder: Any | None
    hints: int

    @classmethod
    def of(cls, model: Any) -> Decoding:
        names = {layer.name for layer in model.layers}
        hint = model.get_layer(ANSWER_HINT).output.shape[-1] if ANSWER_HINT in names else 0
        encoder = model.get_layer(ENCODER) if ENCODER in names else None
        return cls(model.get_layer(DECODER), encoder, hint)

    def start(self, questions: np.ndarray, offsets: np.ndarray | None, steps: int) -> list:
        """The state before the first step for rows of `questions`, answers of `steps`
        (`offsets`: each row's first answer hint, with position hints)."""
        from addexp.text.hints import one_hot_tags

        n = len(questions)
        if self.encoder is None:
            context = [questions]
        else:  # with Abacus positions the encoder also reads offsets: 0 at inference
            offsets_in = [np.zeros(n, np.int32)] if len(self.encoder.inputs) > 1 else []
            encoded = self.encoder.predict_on_batch([questions, *offsets_in])
            context = [*(np.asarray(a) for a in encoded), *offsets_in]
        state = [*context, np.zeros((n, steps), np.int32), np.zeros(n, np.int32)]
        if self.hints:
            state.append(one_hot_tags(offsets[:, None] + np.arange(steps), self.hints))
        return state

    def step(self, weights: list[np.ndarray] | None = None) -> Any:
        """The search's step (`addexp.models.search.Step`). With `weights` (a list), each step
        also appends the attention over the question's steps, (n, question steps), averaged
        over the heads of the last block."""
        held = len(self.decoder.inputs) - (2 if self.hints else 1)  # the context's arrays

        def step(tokens: np.ndarray, state: list[np.ndarray]) -> tuple:
            context, (prefix, at), hints = state[:held], state[held : held + 2], state[held + 2 :]
            rows = np.arange(len(tokens))
            prefix = prefix.copy()
            prefix[rows, at] = tokens
            probs, scores = self.decoder.predict_on_batch([*context, prefix, *hints])
            if weights is not None:
                one_sequence = self.encoder is None
                weights.append(_question_weights(scores, at, context[0].shape[1], one_sequence))
            log_probs = np.log(np.maximum(probs[rows, at], 1e-30))
            return log_probs, [*context, prefix, at + 1, *hints]

        return step


def _question_weights(scores: Any, at: np.ndarray, question_steps: int, one_sequence: bool):
    """(n, question steps): the last block's attention of step `at` over the question, the
    heads averaged (a decoder-only's over its question's steps, the rest being its answer)."""
    mean = np.asarray(scores).mean(axis=1)  # (n, queries, keys)
    rows = np.arange(len(at))
    if one_sequence:
        return mean[rows, question_steps + at, :question_steps]
    return mean[rows, at]


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    """Answers (`framings.Answers`, with their log-probabilities) written from START until END
    (or the layout's answer width plus one steps), greedily or by beam search
    (`cfg.beam_width`), `batch_size` problems per search. Raises ConfigError for a layout
    beyond the position table (`reach`; the checks of a run's questions refuse it first)."""
    from addexp.framing.base import END, START
    from addexp.models.search import beam

    steps = framing.text_format.answer_width + 1
    refused = reach(framing.text_format.question_width, framing.text_format.answer_width, cfg)
    if refused is not None:
        raise ConfigError(f"these questions {refused}.")
    questions = framing.question_inputs(problems)
    nets = Decoding.of(model)
    offsets = framing.answer_offsets(problems) if nets.hints else None
    symbols = framing.alphabet.symbols
    start, end = symbols.index(START), symbols.index(END)
    step = nets.step()
    chunks, scores = [], []
    for first in range(0, len(problems), batch_size):
        rows = slice(first, first + batch_size)
        state = nets.start(questions[rows], None if offsets is None else offsets[rows], steps)
        tokens, score = beam(step, state, start, end, 0, steps, cfg.beam_width)
        chunks.append(tokens)
        scores.append(score)
    return framing.answers_from_tokens(np.concatenate(chunks), np.concatenate(scores))


def figures(model: Any, framing: Any, problems: Any, folder: Any) -> list[Any]:
    """An attention-map plot for the first few problems (`transformer/maps.png`): the last
    block's attention (heads averaged) of each answer step over the question."""
    from addexp.framing.base import END, START
    from addexp.models.attention import attention_plot
    from addexp.models.search import greedy

    sample = problems.take(slice(0, 4))
    steps = framing.text_format.answer_width + 1
    questions = framing.question_inputs(sample)
    nets = Decoding.of(model)
    offsets = framing.answer_offsets(sample) if nets.hints else None
    symbols = framing.alphabet.symbols
    weights: list[np.ndarray] = []
    state = nets.start(questions, offsets, steps)
    tokens, _ = greedy(
        nets.step(weights), state, symbols.index(START), symbols.index(END), 0, steps
    )
    written = [[symbols[t] for t in row[: len(weights)]] for row in tokens]
    written = [row[: row.index(END) + 1] if END in row else row for row in written]
    shown = [list(q) for q in framing.text_format.questions(sample)]
    folder.mkdir(parents=True, exist_ok=True)
    return [attention_plot(shown, written, np.stack(weights, axis=1), folder / "maps.png")]


FAMILY = ModelFamily(
    name=NAME,
    framing="autoregressive",
    schema=Config,
    build=build,
    description="Transformer (encoder-decoder or decoder-only) writing its answer step by step",
    any_length=True,  # lengths are free; positions up to model.max_positions
    position_hints=True,
    beam_search=True,
    decode=decode,
    figures=figures,
    check=check,
    check_run=check_run,
    reach=reach,
    layers="addexp.models.transformer_layers",
)
