"""The words of the lesson views: inside the network (Draw tab), presentation mode, the notebook's lesson (Train tab).

One dict per view, so a translation can replace each whole. `{name}` fields are filled in the browser (the inside
view paints every reading there) or by `str.format` in Python.
"""

from __future__ import annotations

INSIDE = {
    "summary": "Inside the network",
    "empty": "Draw a digit to see inside the network.",
    "path": "From your drawing to the network",
    "drawing": "your drawing",
    "box": "cut to its box",
    "fit": "fit in 20×20",
    "centred": "centred in 28×28",
    "deskewed": "slant taken out",
    "reads": "what the network reads",
    "units": "The first layer",
    "on": "{on} of {total} units fire for this drawing ({share}).",
    "units_legend": (
        "The {k} that fire most, each drawn as the weight it gives every pixel: orange adds, blue takes away. "
        "The number is how strongly it fires."
    ),
    "filters": "The first convolution",
    "convolution": (
        "A convolution slides one small pattern of weights over every place of the drawing and scores how well "
        "each place matches it: each score is one filter position."
    ),
    "filters_on": "{on} of {total} filter positions fire for this drawing ({share}).",
    "filters_legend": (
        "The {k} filters that fire most. The big square shows where each one found its pattern on your drawing "
        "(darker orange, stronger); the small one is its 3×3 pattern: orange adds, blue takes away. The number is "
        "its strongest score."
    ),
    "why": "Why {answer} and not {runner}",
    "why_legend": "Orange pixels pushed toward {answer}, blue ones toward {runner}, the runner-up.",
    "probs": "How sure it is",
    "softmax": (
        "The network gives each digit a score; softmax turns the ten scores into probabilities: shares of 100% "
        "that say how sure it is of each digit."
    ),
    "shared": "Your own model answered above; this is the shared network it builds on.",
}

PRESENT = {
    "enter": "Presentation mode",
    "leave": "Leave presentation mode",
}

SEED = {
    "split": (
        "A validation split of {split} keeps {check:,} of the {total:,} training images only to check the network, "
        "so {learn:,} images teach it."
    ),
    "result": (
        "### The notebook's lesson\n"
        "| trained on | accuracy on MNIST test |\n|---|---:|\n"
        "| this run: {learn:,} images | **{this}** |\n"
        "| the default recipe (the shipped model) | {default} |\n"
        "| the notebook's own run | {notebook} |\n\n"
        "The same network reads far better when all the images teach it."
    ),
}
