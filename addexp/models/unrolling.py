"""Unrolled recurrent layers over short sequences, and twins of a model for other lengths.

Keras's `unroll=True` writes a recurrent layer's time steps out as one graph instead of a
`tf.while_loop`. The arithmetic is the same step for step (outputs agree to float32 rounding,
not bit for bit: TensorFlow may order the kernels otherwise); what goes is the loop's own cost
per step and in its gradient, which weighs on small recurrent layers on a CPU (the tutorial's
LSTM(100)-LSTM(50) at batch 10 trains about twice as fast unrolled; docs/benchmarks.md). An
unrolled layer needs a known number of steps and its graph grows with them, so families unroll
only sequences of at most `model.unroll_max_steps` steps, their inputs then have that fixed
length, and decoding another layout runs a twin built for its lengths (`for_lengths`), with the
same weights, looping again beyond the limit. What a run logs to MLflow is the model with free
lengths (`free_length`), which reads any length as it is; decoding unrolls it again where the
config says, so it answers exactly as the run's own model did.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from typing import Any

# model -> {its twin's config (JSON): the twin}: a twin is built and traced once per layout, and
# given the model's current weights each time it is asked for (they change during training)
_TWINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

RECURRENT = ("LSTM", "GRU", "SimpleRNN")  # Keras classes that take `unroll`


def unrolled(steps: int | None, max_steps: int) -> bool:
    """Whether a recurrent layer over `steps` time steps is unrolled (None: a free length,
    never unrolled; `max_steps` 0: never)."""
    return steps is not None and 0 < steps <= max_steps


def _unroll_of(layer: dict) -> bool | None:
    """A layer config's `unroll` (a Bidirectional wrapper's: its layer's), None if it has none."""
    kind, layer_cfg = layer["class_name"], layer["config"]
    if kind in RECURRENT:
        return layer_cfg["unroll"]
    if kind == "Bidirectional":
        return layer_cfg["layer"]["config"]["unroll"]
    return None


def _matches(model: Any, input_steps: dict, layer_steps: Callable, max_steps: int) -> bool:
    """Whether `model`'s inputs already have the lengths `input_steps` and its recurrent layers
    the `unroll` that `layer_steps` and `max_steps` ask for."""
    for layer in model.get_config()["layers"]:
        layer_cfg = layer["config"]
        if layer["class_name"] == "InputLayer":
            shape = layer_cfg["batch_shape"]
            if len(shape) > 1 and shape[1] != input_steps[layer_cfg["name"]]:
                return False
        unroll = _unroll_of(layer)
        if unroll is not None and unroll != unrolled(layer_steps(layer_cfg["name"]), max_steps):
            return False
    return True


def for_lengths(
    model: Any,
    input_steps: dict[str, int | None],
    layer_steps: Callable[[str], int | None],
    max_steps: int,
    edit: Callable[[dict], None] | None = None,
    fits: bool = True,
) -> Any:
    """`model` itself when its inputs and layers already are as `twin` would build them and
    `fits` (what else the caller checked, say an output length), else `twin(...)`."""
    if fits and _matches(model, input_steps, layer_steps, max_steps):
        return model
    return twin(model, input_steps, layer_steps, max_steps, edit)


def for_layout(
    model: Any,
    question_steps: int,
    answer_steps: int,
    max_steps: int,
    answer_inputs: tuple[str, ...] = (),
    edit: Callable[[dict], None] | None = None,
    fits: bool = True,
) -> Any:
    """An encoder-decoder (shared weights) for questions of `question_steps` steps and answers
    of `answer_steps`, unrolled where these are at most `max_steps`: `model` itself when it
    already is (and `fits`), otherwise a twin (`for_lengths`). The encoder reads the input
    `question`; `answer_inputs` name the inputs read per answer step (a decoder that reads its
    own answers); layers named `decoder_*` run over the answer's steps, every other recurrent
    layer over the question's. `edit` as for `twin`."""
    answer = answer_steps if unrolled(answer_steps, max_steps) else None
    steps = {
        "question": question_steps if unrolled(question_steps, max_steps) else None,
        **{name: answer for name in answer_inputs},
    }
    return for_lengths(
        model,
        steps,
        lambda name: answer_steps if name.startswith("decoder_") else question_steps,
        max_steps,
        edit,
        fits,
    )


def free_length(model: Any) -> Any:
    """`model` with every recurrent layer looping and every input's length free (`model`
    itself when nothing is unrolled): what a run logs, so that the logged model reads any length
    as it is, in Keras or through MLflow."""
    layers = model.get_config()["layers"]
    if not any(_unroll_of(layer) for layer in layers):
        return model
    inputs = {x["config"]["name"]: None for x in layers if x["class_name"] == "InputLayer"}
    return twin(model, inputs, lambda _: None, 0)


def twin(
    model: Any,
    input_steps: dict[str, int | None],
    layer_steps: Callable[[str], int | None],
    max_steps: int,
    edit: Callable[[dict], None] | None = None,
) -> Any:
    """A model of `model`'s architecture and weights for other sequence lengths.

    `input_steps`: {input layer name: steps of its sequence, fixed in the twin when that input's
    first recurrent layer is unrolled, else None (free)}; `layer_steps(name)`: the steps a
    recurrent layer (or the Bidirectional wrapper named so) runs over, which set its `unroll`
    (`unrolled(steps, max_steps)`); `edit(layer_config)` may change any other layer (say a
    RepeatVector's count). Built from the model's config by Keras once per configuration
    (`_TWINS`), the model's weights copied into it on every call. Raises KeyError for an input
    not in `input_steps`."""
    import keras

    config = model.get_config()
    for layer in config["layers"]:
        kind, layer_cfg = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            shape = list(layer_cfg["batch_shape"])
            if len(shape) > 1:
                shape[1] = input_steps[layer_cfg["name"]]
            layer_cfg["batch_shape"] = shape
        elif kind in RECURRENT:
            layer_cfg["unroll"] = unrolled(layer_steps(layer_cfg["name"]), max_steps)
        elif kind == "Bidirectional":
            inner = layer_cfg["layer"]["config"]
            inner["unroll"] = unrolled(layer_steps(layer_cfg["name"]), max_steps)
            if "backward_layer" in layer_cfg:
                layer_cfg["backward_layer"]["config"]["unroll"] = inner["unroll"]
        if edit is not None:
            edit(layer)
    built = _TWINS.setdefault(model, {})
    key = json.dumps(config, sort_keys=True, default=str)
    if key not in built:
        built[key] = keras.Model.from_config(config)
    built[key].set_weights(model.get_weights())
    return built[key]
