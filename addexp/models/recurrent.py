"""The encoder-decoder that reads its own answers, shared by `teacher_forcing` and `attention`.

Training model (teacher forcing, keras-io `lstm_seq2seq`): a recurrent encoder over the question
whose final states initialise the decoder; the decoder reads the answer shifted by one step
(`START` first) and writes a softmax per step. Decoding rebuilds, from the trained model's own
layers (so a model loaded from MLflow works the same), an encoder model (question -> outputs and
states) and a one-step decoder model ((previous symbol, states, encoder outputs) -> next
distribution, states), and searches with them (`addexp.models.search`). With `attention`, every
decoder step attends over every encoder output (Bahdanau et al. 2015: additive; Luong et al.
2015: dot) before the softmax.

With position hints (`format.position_hints`, `addexp.text.hints`) the model has one more input,
`answer_hint`: the one-hot hint of the place each answer step writes, concatenated to the
answer symbol's embedding (the question's hints are part of its input features). Decoding
carries each row's next hint as one more state, first in the list, which every step feeds and
advances by one: beam search reorders the rows of every state, so each beam keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from addexp.config.checks import at_least, choice, rate
from addexp.models.checks import layer_sizes, unrolling
from addexp.text.hints import one_hot_tags

CELLS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}
STATES = {"lstm": 2, "gru": 1, "simple_rnn": 1}  # states each cell carries between steps
ATTENTION = {"additive": "AdditiveAttention", "dot": "Attention"}


@dataclass
class RecurrentLayers:
    """Keys of every family built from stacked recurrent layers (`tagger` and the decoders
    that read their own answers)."""

    name: str = ""
    cell: str = "lstm"  # lstm | gru | simple_rnn
    units: list[int] = field(default_factory=lambda: [128])  # per stacked layer
    bidirectional: bool = False  # read both ways (an encoder's decoder gets both states)
    dropout: float = 0.0  # on each recurrent layer's inputs
    recurrent_dropout: float = 0.0  # on each recurrent layer's state
    unroll_max_steps: int = 32  # unroll a sequence of up to this many steps; 0: never


@dataclass
class RecurrentConfig(RecurrentLayers):
    """Keys shared by the families whose decoder reads its own answers: `units` per stacked
    layer on both sides, the encoder (decoder) unrolled up to `unroll_max_steps` steps."""

    embedding_dim: int = 16  # embedding of the question (encoding=embedding) and of answers
    beam_width: int = 1  # 1: greedy decoding; more: beam search of that width


def check_layers(m: Any) -> None:
    """The keys of stacked recurrent layers (`RecurrentLayers`): cell, layer sizes, dropout
    rates, unrolling. Raises ConfigError naming the key."""
    choice("model.cell", m.cell, list(CELLS))
    layer_sizes(m, "units")
    for key in ("dropout", "recurrent_dropout"):
        rate(f"model.{key}", m[key])
    unrolling(m)


def check_decoder(m: Any) -> None:
    """The keys of a decoder that reads its own answers (`RecurrentConfig`): its layers, the
    answers' embedding and the beam width."""
    check_layers(m)
    at_least("model.embedding_dim", m.embedding_dim, 1)
    at_least("model.beam_width", m.beam_width, 1)


# The names `build` gives the layers that decoding takes apart again (`inference_models`).
QUESTION, ANSWER_IN, ANSWER_HINT = "question", "answer_in", "answer_hint"  # the inputs
ANSWER_EMBEDDING, WITH_HINT = "answer_embedding", "answer_with_hint"
ENCODER_OUTPUTS, ATTENTION_LAYER, ANSWER = "encoder_outputs", "attention", "answer"
STATE = "_state_"  # encoder_<i>_state_<j>: state j of encoder layer i, the decoder's start


def build(cfg: Any, shapes: Any, attention: str | None = None) -> Any:
    """keras.Model {question: (batch, steps, features) or (batch, steps), answer_in: (batch,
    answer steps) int[, answer_hint: (batch, answer steps, shapes.answer_hints)]} -> (batch,
    answer steps, symbols) softmax. Both lengths are free, except where the encoder (decoder)
    is unrolled (`addexp.models.unrolling`): then the question (answer) has the layout's."""
    import keras
    from keras import layers

    from addexp.models.inputs import sequence_input
    from addexp.models.unrolling import unrolled

    encoder_unrolled = unrolled(shapes.input_shape[0], cfg.unroll_max_steps)
    decoder_unrolled = unrolled(shapes.output_steps, cfg.unroll_max_steps)
    question, x = sequence_input(
        shapes, QUESTION, cfg.embedding_dim, any_length=not encoder_unrolled
    )
    inputs, y = _answer_input(cfg, shapes, shapes.output_steps if decoder_unrolled else None)
    inputs = {QUESTION: question, **inputs}
    x, states = _encoder(cfg, x, encoder_unrolled)
    encoder_outputs = layers.Identity(name=ENCODER_OUTPUTS)(x)
    width = 2 if cfg.bidirectional else 1
    cell = getattr(layers, CELLS[cfg.cell])
    for i, units in enumerate(cfg.units):
        decoder = cell(
            units * width,
            return_sequences=True,
            return_state=True,
            dropout=cfg.dropout,
            recurrent_dropout=cfg.recurrent_dropout,
            unroll=decoder_unrolled,
            name=f"decoder_{i}",
        )
        y, *_ = decoder(y, initial_state=states[i])
    if attention:
        # Called with its scores here too: Keras reuses a layer's call structure, and decoding
        # reads the scores through the same layer.
        context, _ = getattr(layers, ATTENTION[attention])(name=ATTENTION_LAYER)(
            [y, encoder_outputs], return_attention_scores=True
        )
        y = layers.Concatenate(name="attention_concat")([y, context])
    outputs = layers.Dense(shapes.output_symbols, activation="softmax", name=ANSWER)(y)
    return keras.Model(inputs, outputs)


def _answer_input(cfg: Any, shapes: Any, steps: int | None) -> tuple[dict[str, Any], Any]:
    """The decoder's inputs ({answer_in: (batch, steps) int[, answer_hint]}) and what its first
    layer reads: the previous symbols embedded (and their position hints beside them)."""
    import keras
    from keras import layers

    answer_in = keras.Input(shape=(steps,), dtype="int32", name=ANSWER_IN)
    inputs = {ANSWER_IN: answer_in}
    y = layers.Embedding(shapes.output_symbols, cfg.embedding_dim, name=ANSWER_EMBEDDING)(answer_in)
    if shapes.answer_hints:
        hint = keras.Input(shape=(steps, shapes.answer_hints), name=ANSWER_HINT)
        inputs[ANSWER_HINT] = hint
        y = layers.Concatenate(name=WITH_HINT)([y, hint])
    return inputs, y


def _encoder(cfg: Any, x: Any, unroll: bool) -> tuple[Any, list[list[Any]]]:
    """The stacked encoder over the question's features `x`: its last outputs, and each
    layer's final states (both directions' concatenated when bidirectional), named
    `encoder_<i>_state_<j>` so that decoding finds them."""
    from keras import layers

    cell, n = getattr(layers, CELLS[cfg.cell]), STATES[cfg.cell]
    states = []
    for i, units in enumerate(cfg.units):
        rnn = cell(
            units,
            return_sequences=True,
            return_state=True,
            dropout=cfg.dropout,
            recurrent_dropout=cfg.recurrent_dropout,
            unroll=unroll,
            name=f"encoder_{i}",
        )
        if cfg.bidirectional:
            x, *both = layers.Bidirectional(rnn, name=f"encoder_{i}_bidirectional")(x)
            named = [
                layers.Concatenate(name=f"encoder_{i}{STATE}{j}")([both[j], both[n + j]])
                for j in range(n)
            ]
        else:
            x, *own = rnn(x)
            named = [layers.Identity(name=f"encoder_{i}{STATE}{j}")(s) for j, s in enumerate(own)]
        states.append(named)
    return x, states


@dataclass
class InferenceModels:
    """The encoder and the one-step decoder, sharing the trained model's layers. With
    attention the encoder's outputs (memory) go with the states into every step; with position
    hints the step reads the hint of the place it writes. Decoding calls them through Keras's
    `predict_on_batch`, which runs one compiled graph per call: calling a model eagerly
    dispatches every layer's ops one by one from Python, about 4.7x slower for the Keras
    example's LSTM(128) decoder at 1,024 rows per step (same answers). The step writes
    probabilities (n, 1, symbols) and the new states."""

    encoder: Any  # question -> [memory, [memory mask,]] state, state, ...
    step: Any  # [symbol (n, 1), [hint (n, 1, hints),] [memory, [mask,]] state, ...] -> [probs, ...]
    attention: Any  # the step's inputs -> attention scores (n, 1, steps), or None
    hints: int = 0  # position hints the step reads; 0: none
    masked: bool = False  # the memory goes with its mask (n, steps) bool: padding is not attended

    def step_inputs(self, tokens: np.ndarray, state: list[np.ndarray]) -> list[np.ndarray]:
        """The one-step decoder's inputs for previous symbols (n,) and the decoding `state`
        ([next hints (n,),] [memory,] recurrent states: `start_state`)."""
        if not self.hints:
            return [tokens[:, None], *state]
        return [tokens[:, None], one_hot_tags(state[0], self.hints)[:, None, :], *state[1:]]

    def next_state(self, state: list[np.ndarray], outputs: list[Any]) -> list[np.ndarray]:
        """The decoding state after a step whose outputs (probabilities first, then the
        recurrent states) are `outputs`: hints advanced by one, the memory as it was."""
        carried = [state[0] + 1] if self.hints else []
        kept = 1 if self.hints else 0
        held = (2 if self.masked else 1) if self.attention is not None else 0
        memory = state[kept : kept + held]
        return [*carried, *memory, *outputs[1:]]


def _question_mask(model: Any) -> Any:
    """(batch, steps) bool, the question steps the training model's mask keeps (the
    `masking` layer's rule, or the `embedding` layer's index 0), as a symbolic tensor of its
    question input; None when the model masks nothing. Written out because a functional
    model's mask is not one of its layers' outputs."""
    from keras import ops

    question = model.get_layer(QUESTION).output
    names = {layer.name for layer in model.layers}
    if "masking" in names:
        value = model.get_layer("masking").mask_value
        return ops.any(ops.not_equal(question, value), axis=-1)
    if "embedding" in names and model.get_layer("embedding").mask_zero:
        return ops.not_equal(question, 0)
    return None


def _state_order(name: str) -> tuple[int, int]:
    """`encoder_<layer>_state_<j>` by layer, then state, as numbers (layer 10 after 9)."""
    layer, _, state = name.removeprefix("encoder_").partition(STATE)
    return int(layer), int(state)


def inference_models(model: Any) -> InferenceModels:
    """Encoder and one-step decoder built from `model`'s layers, found by the names `build`
    gives them (the module's constants: the question, each encoder state, `decoder_<i>`, the
    answers' embedding, the output, and the attention, encoder outputs and hints where
    present), as the Keras sequence-to-sequence example builds its inference models. With attention
    over a masked question the encoder also returns the mask, and every step gives it to the
    attention layer as its value mask, as the training model's mask propagation does. Raises
    ValueError (Keras's) for a model lacking those layers."""
    import keras
    from keras import layers

    names = {layer.name for layer in model.layers}
    depth = sum(1 for n in names if n.startswith("decoder_"))
    state_names = sorted(
        (n for n in names if n.startswith("encoder_") and STATE in n), key=_state_order
    )
    with_memory = ATTENTION_LAYER in names
    memory = [model.get_layer(ENCODER_OUTPUTS).output] if with_memory else []
    mask = _question_mask(model) if with_memory else None
    if mask is not None:
        memory.append(mask)
    encoder = keras.Model(
        model.get_layer(QUESTION).output,
        memory + [model.get_layer(n).output for n in state_names],
    )
    symbol = keras.Input(shape=(1,), dtype="int32", name="symbol")
    hints = model.get_layer(ANSWER_HINT).output.shape[-1] if ANSWER_HINT in names else 0
    hint_in = [keras.Input(shape=(1, hints), name="hint")] if hints else []
    memory_in = [keras.Input(shape=memory[0].shape[1:], name="memory")] if with_memory else []
    if mask is not None:
        memory_in.append(keras.Input(shape=mask.shape[1:], dtype="bool", name="memory_mask"))
    state_inputs = [keras.Input(shape=model.get_layer(n).output.shape[1:]) for n in state_names]
    per_layer = len(state_inputs) // depth
    y = model.get_layer(ANSWER_EMBEDDING)(symbol)
    if hints:
        y = model.get_layer(WITH_HINT)([y, hint_in[0]])
    new_states = []
    for i in range(depth):
        y, *layer_states = model.get_layer(f"decoder_{i}")(
            y, initial_state=state_inputs[i * per_layer : (i + 1) * per_layer]
        )
        new_states += layer_states
    inputs = [symbol, *hint_in, *memory_in, *state_inputs]
    attention = None
    if with_memory:
        context, scores = model.get_layer(ATTENTION_LAYER)(
            [y, memory_in[0]],
            mask=[None, memory_in[1] if mask is not None else None],
            return_attention_scores=True,
        )
        y = layers.Concatenate()([y, context])
        attention = keras.Model(inputs, scores)
    probs = model.get_layer(ANSWER)(y)
    step = keras.Model(inputs, [probs, *new_states])
    return InferenceModels(encoder, step, attention, hints, masked=mask is not None)


def for_layout(model: Any, question_steps: int, answer_steps: int, max_steps: int) -> Any:
    """`unrolling.for_layout` for a decoder that reads its previous symbol (`answer_in`) and
    its hints (`answer_hint`) each answer step, END included in `answer_steps`."""
    from addexp.models import unrolling

    answer_inputs = (ANSWER_IN, ANSWER_HINT)
    return unrolling.for_layout(model, question_steps, answer_steps, max_steps, answer_inputs)


# [(model, its encoder and step)], the most recent first: they share the model's layers, so its
# weights as they change. The cache holds the models, so an entry is never matched by a twin
# built at the address of a freed one; a few, for the layouts a served model goes through.
_CACHE: list[tuple[Any, InferenceModels]] = []
CACHED_MODELS = 16


def _cached(model: Any) -> InferenceModels:
    """`inference_models(model)`, built once per model while it is among the CACHED_MODELS last
    asked for (validation decodes every epoch; a served model decodes each layout's twin,
    `addexp.models.unrolling.twin`, again and again)."""
    found = next((i for i, (m, _) in enumerate(_CACHE) if m is model), None)
    entry = _CACHE.pop(found) if found is not None else (model, inference_models(model))
    _CACHE.insert(0, entry)
    del _CACHE[CACHED_MODELS:]
    return entry[1]


def encoder_states(nets: InferenceModels, questions: Any) -> list[np.ndarray]:
    """The encoder's outputs as a list of arrays, also when it has one (a single GRU layer's
    state), which Keras returns bare."""
    encoded = nets.encoder.predict_on_batch(questions)
    if not isinstance(encoded, list | tuple):
        encoded = [encoded]
    return list(encoded)


def start_state(
    nets: InferenceModels, questions: Any, offsets: np.ndarray | None
) -> list[np.ndarray]:
    """The decoding state before the first answer step: with position hints each row's first
    hint (`offsets`, (n,): `AutoregressiveFraming.answer_offsets`) first, then the encoder's
    outputs (`encoder_states`)."""
    hints = [offsets] if nets.hints else []
    return [*hints, *encoder_states(nets, questions)]


def _offsets(nets: InferenceModels, framing: Any, problems: Any) -> np.ndarray | None:
    """Each row's first answer hint, for a model that reads hints (else None)."""
    return framing.answer_offsets(problems) if nets.hints else None


def decoder_step(nets: InferenceModels, weights: list[np.ndarray] | None = None) -> Any:
    """The search's step function (`addexp.models.search.Step`) of the one-step decoder:
    previous symbols (n,) and the decoding state -> log-probabilities (n, symbols) and the next
    state. With `weights` (a list), each step also appends the attention weights over the
    question's steps, (n, question steps), to it."""
    from keras import ops

    def step(tokens: np.ndarray, state: list[np.ndarray]) -> tuple:
        inputs = nets.step_inputs(tokens, state)
        if weights is not None:
            weights.append(ops.convert_to_numpy(nets.attention(inputs))[:, 0, :])
        outputs = nets.step.predict_on_batch(inputs)
        log_probs = np.log(np.maximum(outputs[0][:, 0, :], 1e-30))
        return log_probs, nets.next_state(state, outputs)

    return step


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    """Answers (`framings.Answers`, one row per problem, with their log-probabilities) written
    symbol by symbol from START until END (or the layout's answer width plus one steps),
    greedily or by beam search (`cfg.beam_width`), `batch_size` problems per search."""
    from addexp.framing.base import END, START
    from addexp.models.search import beam

    steps = framing.text_format.answer_width + 1
    questions = framing.question_inputs(problems)
    nets = _cached(for_layout(model, questions.shape[1], steps, cfg.unroll_max_steps))
    symbols = framing.alphabet.symbols
    start, end, pad = symbols.index(START), symbols.index(END), 0
    offsets = _offsets(nets, framing, problems)
    step = decoder_step(nets)

    chunks, scores = [], []
    for first in range(0, len(problems), batch_size):
        rows = slice(first, first + batch_size)
        state = start_state(nets, questions[rows], None if offsets is None else offsets[rows])
        tokens, score = beam(step, state, start, end, pad, steps, cfg.beam_width)
        chunks.append(tokens)
        scores.append(score)
    return framing.answers_from_tokens(np.concatenate(chunks), np.concatenate(scores))


def attention_maps(model: Any, framing: Any, problems: Any) -> tuple[np.ndarray, np.ndarray]:
    """Greedy answers to a few problems and, for every step written, the attention weights over
    the question's steps: (n, answer steps) symbol indices (0 after END) and (n, answer steps,
    question steps) weights (rows sum to 1; masked question steps weigh 0). Raises ValueError
    for a model without attention. A layout the model's inputs do not take is read by a looping
    twin (a few questions: speed is moot)."""
    from addexp.framing.base import END, START
    from addexp.models.search import greedy

    questions = framing.question_inputs(problems)
    steps = framing.text_format.answer_width + 1
    lengths = {QUESTION: questions.shape[1], ANSWER_IN: steps}
    fits = all(model.get_layer(k).output.shape[1] in (None, n) for k, n in lengths.items())
    nets = _cached(model if fits else for_layout(model, questions.shape[1], steps, max_steps=0))
    if nets.attention is None:
        raise ValueError("the model has no attention layer")
    symbols = framing.alphabet.symbols
    state = start_state(nets, questions, _offsets(nets, framing, problems))
    weights: list[np.ndarray] = []
    step = decoder_step(nets, weights)
    tokens, _ = greedy(step, state, symbols.index(START), symbols.index(END), 0, steps)
    return tokens[:, : len(weights)], np.stack(weights, axis=1)
