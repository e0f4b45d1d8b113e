"""A Keras network's layers → the NumPy `Classifier` that serves it: shared by the `.keras` file loader (no
TensorFlow) and by training (a model just fitted, judged before it is saved).

Each layer comes as (Keras class name, its config, its weights); the layers a network of this project uses
are read, anything else is refused in one line rather than served wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mnist_core.model.convnet import Conv, ConvClassifier, Pool
from mnist_core.model.forward import Classifier, DenseClassifier, Weights

LayerSpec = tuple[str, dict[str, Any], Sequence[np.ndarray]]  # (class name, config, weights)
IGNORED = {"InputLayer", "Dropout", "ByteDropout"}  # nothing to do at inference


def classifier_from_layers(layers: Sequence[LayerSpec], deskew: bool) -> Classifier:
    """The notebook's three Dense layers → `DenseClassifier`; convolutions → `ConvClassifier`. ValueError (one
    line) for a layer or a setting the NumPy forward pass does not compute."""
    kinds = [kind for kind, _, _ in layers if kind not in IGNORED]
    if "Conv2D" not in kinds:
        if set(kinds) != {"Dense"}:
            raise ValueError(f"layers {kinds} are neither the dense nor the convolutional network")
        _check_activations([config for kind, config, _ in layers if kind == "Dense"])
        return DenseClassifier.from_arrays([w for kind, _, ws in layers if kind == "Dense" for w in ws], deskew)
    stages: list[Conv | Pool] = []
    dense: list[Weights] = []
    for kind, config, weights in layers:
        if kind in IGNORED or kind == "Flatten" or (kind == "Reshape" and list(config["target_shape"]) == [28, 28, 1]):
            continue
        if kind == "Conv2D" and not dense:
            stages.append(_conv(config, weights))
        elif kind == "MaxPooling2D" and not dense:
            stages.append(_pool(config))
        elif kind == "Dense":
            dense.append((np.asarray(weights[0], np.float32), np.asarray(weights[1], np.float32)))
        else:
            raise ValueError(f"layer {config.get('name')!r} ({kind}) is not one the NumPy server computes")
    _check_activations([config for kind, config, _ in layers if kind == "Dense"])
    return ConvClassifier(tuple(stages), tuple(dense), deskew)


def classifier_from_keras(model: Any, deskew: bool) -> Classifier:
    """A Keras model in memory (duck-typed: no Keras import here) → its NumPy classifier."""
    layers = [(type(layer).__name__, layer.get_config(), layer.get_weights()) for layer in model.layers]
    return classifier_from_layers(layers, deskew)


def _conv(config: dict[str, Any], weights: Sequence[np.ndarray]) -> Conv:
    k = list(config["kernel_size"])
    plain = (
        config.get("padding") == "valid"
        and list(config.get("strides", [1, 1])) == [1, 1]
        and list(config.get("dilation_rate", [1, 1])) == [1, 1]
        and config.get("groups", 1) == 1
        and config.get("data_format", "channels_last") == "channels_last"
        and config.get("activation") == "relu"
        and config.get("use_bias", True)
        and k[0] == k[1]
    )
    if not plain:
        raise ValueError(f"convolution {config.get('name')!r} is not square, valid, stride 1, relu")
    return Conv(np.asarray(weights[0], np.float32), np.asarray(weights[1], np.float32))


def _pool(config: dict[str, Any]) -> Pool:
    size, strides = list(config["pool_size"]), list(config.get("strides") or config["pool_size"])
    if size[0] != size[1] or strides != size or config.get("padding", "valid") != "valid":
        raise ValueError(f"pool {config.get('name')!r} is not a square valid max-pool with its own stride")
    return Pool(int(size[0]))


def _check_activations(configs: list[dict[str, Any]]) -> None:
    """ReLU on every dense layer but the last, softmax on the last: what `Classifier.forward` computes."""
    wanted = ["relu"] * (len(configs) - 1) + ["softmax"]
    found = [config.get("activation") for config in configs]
    if found != wanted:
        raise ValueError(f"dense activations {found} are not {wanted}")
