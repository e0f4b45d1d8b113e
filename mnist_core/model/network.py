"""The two Keras networks: the Spanish notebook's dense one, unchanged (the product's default), and the small
convolutional one its title promises. Both take 784 floats in [0, 1], so the data pipeline, the NumPy server
and a personal memory treat them alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnist_core.config import HyperParams, cnn_shape

if TYPE_CHECKING:
    import keras

INPUT_DIM = 784
NUM_CLASSES = 10
LAYER_NAMES = ("dense_layer", "dense_layer_2", "dense_layer_3")


def param_count(hidden_units: int = 2048) -> int:
    """Parameters of the dense network without building it (5,824,522 for the seed's 2048 units)."""
    return (INPUT_DIM + 1) * hidden_units + (hidden_units + 1) * hidden_units + (hidden_units + 1) * NUM_CLASSES


def build_model(hp: HyperParams) -> keras.Model:
    """The network `hp.architecture` names, uncompiled."""
    return build_cnn(hp) if hp.architecture == "cnn" else build_dense(hp)


def build_dense(hp: HyperParams) -> keras.Model:
    """Dense(relu) → Dropout → Dense(relu) → Dropout → Dense(softmax) on 784 floats in [0, 1]."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(INPUT_DIM,), name="pixels"),
            keras.layers.Dense(hp.hidden_units, activation="relu", name=LAYER_NAMES[0]),
            keras.layers.Dropout(hp.dropout, name="dropout"),
            keras.layers.Dense(hp.hidden_units, activation="relu", name=LAYER_NAMES[1]),
            keras.layers.Dropout(hp.dropout, name="dropout_2"),
            keras.layers.Dense(NUM_CLASSES, activation="softmax", name=LAYER_NAMES[2]),
        ],
        name="mnist_dense",
    )


def build_cnn(hp: HyperParams) -> keras.Model:
    """`hp.cnn_layers` on the 784 floats seen as 28×28: 3×3 valid convolutions with ReLU, 2×2 max-pools, then
    dense ReLU layers each followed by Dropout(hp.dropout), and Dense(10, softmax). No batch normalisation:
    the NumPy server reads the same few layer kinds (`mnist_core.model.convnet`)."""
    import keras

    layers: list[keras.layers.Layer] = [
        keras.Input(shape=(INPUT_DIM,), name="pixels"),
        keras.layers.Reshape((28, 28, 1), name="image"),
    ]
    counts = {"conv": 0, "pool": 0, "dense": 0}
    for kind, size in cnn_shape(hp.cnn_layers):
        counts[kind] += 1
        n = counts[kind]
        if kind == "conv":
            layers.append(keras.layers.Conv2D(size, 3, activation="relu", name=f"conv_{n}"))
        elif kind == "pool":
            layers.append(keras.layers.MaxPooling2D(size, name=f"pool_{n}"))
        else:
            if n == 1:
                layers.append(keras.layers.Flatten(name="flatten"))
            layers.append(keras.layers.Dense(size, activation="relu", name=f"hidden_{n}"))
            layers.append(keras.layers.Dropout(hp.dropout, name=f"dropout_{n}"))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", name="output"))
    return keras.Sequential(layers, name="mnist_cnn")
