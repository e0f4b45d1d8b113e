"""The Spanish notebook's dense network, unchanged: the architecture is the product's default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mnist_core.config import HyperParams

if TYPE_CHECKING:
    import keras

INPUT_DIM = 784
NUM_CLASSES = 10
LAYER_NAMES = ("dense_layer", "dense_layer_2", "dense_layer_3")


def param_count(hidden_units: int = 2048) -> int:
    """Parameters of the network without building it (5,824,522 for the seed's 2048 units)."""
    return (INPUT_DIM + 1) * hidden_units + (hidden_units + 1) * hidden_units + (hidden_units + 1) * NUM_CLASSES


def build_model(hp: HyperParams) -> keras.Model:
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
