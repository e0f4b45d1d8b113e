"""The page's words in English: one entry per thing a visitor reads, keyed as in es.py.

`{name}` fields are filled by `str.format` on the server (or in the browser, for the pad and the inside view).
The settings' words ("setting.<field>" and "setting.<field>.what") name each HyperParams field as a learner
says it, with one line on what it does; mnist_core/config.py keeps the CLI's help of the same fields.
"""

from __future__ import annotations

WORDS: dict[str, str] = {
    # the page around the tabs
    "page.title": "Draw a digit",
    "page.intro": (
        "# Draw a digit\nTwo neural networks trained on MNIST and on real pen handwriting read what you write: the "
        "dense one from the course notebook “Redes Neuronales Convolucionales” and a convolutional one. Draw one "
        "digit on the pad: the answer follows your pen."
    ),
    "page.language": "Language",
    "tab.draw": "Draw",
    "tab.teach": "Teach it",
    "tab.upload": "Upload",
    "tab.model": "Model",
    "tab.drawings": "Drawings",
    "tab.train": "Train",
    # the settings, as a learner names them, and what each does
    "setting.epochs": "Epochs",
    "setting.epochs.what": "How many times the network goes through all the training images.",
    "setting.batch_size": "Batch size",
    "setting.batch_size.what": "How many images it looks at before each small correction of its weights.",
    "setting.validation_split": "Validation split",
    "setting.validation_split.what": (
        "The share of the training images kept aside, never learnt from, to check the network after each epoch."
    ),
    "setting.architecture": "Network",
    "setting.architecture.what": "Which neural network learns.",
    "setting.architecture.dense": "dense: the notebook's network, every pixel wired to 2,048 units, twice",
    "setting.architecture.cnn": "convolutional: small 3×3 filters slid over the image, then one dense layer",
    "setting.cnn_layers": "Convolutional layers",
    "setting.cnn_layers.what": "The filters and poolings of the convolutional network, in order.",
    "setting.dropout": "Dropout",
    "setting.dropout.what": (
        "The share of units switched off at random at each training step, so the network does not learn the "
        "training images by heart."
    ),
    "setting.learning_rate": "Learning rate",
    "setting.learning_rate.what": "How big each correction of the weights is: too big jumps about, too small crawls.",
    "setting.lr_schedule": "How the learning rate changes",
    "setting.lr_schedule.what": "Whether the learning rate stays the same or rises then falls during training.",
    "setting.lr_schedule.one_cycle": "rises then falls (one cycle)",
    "setting.lr_schedule.constant": "stays the same",
    "setting.seed": "Random seed",
    "setting.seed.what": "The number that fixes every random choice, so a run can be made again.",
    "setting.augment": "Distorted copies of the images",
    "setting.augment.what": (
        "Each epoch shows slightly turned, stretched, shifted and thickened copies, like drawings on a pad."
    ),
    "setting.deskew": "Straighten slanted digits",
    "setting.deskew.what": "Takes the slant out of each digit before the network reads it, in training and after.",
    "setting.train_subset": "Training images used",
    "setting.train_subset.what": "Only the first images of MNIST's training set, for a quick run.",
    "setting.train_subset.all": "all",
    "setting.bf16": "Fast half-precision arithmetic",
    "setting.bf16.what": "Multiplies in 16-bit numbers where the processor does it in hardware; weights stay 32-bit.",
    "setting.pens": "Real pen handwriting (UNIPEN)",
    "setting.pens.what": "Also learns from digits written with a pen by real people, drawn as the pad draws them.",
    "setting.loss": "Loss",
    "setting.loss.what": ("How wrong the network is on average (cross-entropy): it falls as the network learns."),
    "value.yes": "yes",
    "value.no": "no",
    # the Model tab
    "model.serving": "### Serving: {label}",
    "model.file": "File: {where}",
    "model.no_record": "No record of how this model was trained was found next to its file.",
    "model.trained": "Trained {when}",
    "model.trained_in": " in {seconds} s",
    "model.trained_on": " on {images} images",
    "model.mnist_accuracy": "Accuracy on the MNIST test images: **{accuracy}**",
    "model.pen_accuracy": "Real handwriting, {count} digits by UNIPEN writers it never saw: **{accuracy}**",
    "model.settings_title": "#### How it was trained",
    "model.settings_head": "setting|value|what it does",
    "model.command": "Command: `{command}`",
    "model.no_model": "no model is loaded",
    "model.architecture": "### Layers\nAs the notebook's `model.summary()` prints them.",
    "model.layers_head": "Layer (type)|Output Shape|Param #|what it does",
    "model.layer.input": "the 28×28 pixels, in a row of 784 numbers",
    "model.layer.dense": "each unit weighs every input and fires if the sum is positive (ReLU)",
    "model.layer.dropout": "switches off half the units at random while training; does nothing after",
    "model.layer.output": "ten scores turned into ten probabilities (softmax), one per digit",
    "model.layer.conv": "slides small 3×3 filters over the image, each finding an edge or a bend",
    "model.layer.pool": "keeps the strongest of each 2×2 square, halving the picture",
    "model.total": "**Total**",
    "model.networks": "### The two networks",
    "model.net.serving": "serving: {label}",
    "model.net.beside": "beside it: {label}",
    "model.net.network": "network",
    "model.net.layers": "layers",
    "model.net.parameters": "parameters (weights)",
    "model.net.mnist": "MNIST test accuracy",
    "model.net.pens": "real writers it never saw",
    "model.net.pool": "pool",
    "model.net.conv": "conv",
    "model.net.dense": "dense",
    "model.report_unavailable": "Test-set report unavailable: {reason}",
    "model.mnist_title": "MNIST test accuracy",
    "model.mnist_what": "MNIST test images",
    "model.pen_title": "Real handwriting (UNIPEN writers it never saw)",
    "model.pen_what": "pen digits drawn as the pad draws them",
    "model.no_pens": "No real-handwriting report for this model (train it with pen data to get one).",
    "model.section": (
        "### {title}: {accuracy}\n\n{count} {what}; loss {loss} (how wrong it is on average: lower is better). "
        "Confusion matrix: rows are the true digit, columns what the model read."
    ),
    "model.accuracy": "accuracy",
    "model.digit": "digit",
    "model.drawings_count": "drawings",
    "model.matrix_mnist": "Confusion matrix, MNIST test",
    "model.matrix_pens": "Confusion matrix, real handwriting",
    "model.matrix_predicted": "predicted digit",
    "model.matrix_true": "true",
    "model.mistakes": (
        "### Most confident mistakes on the MNIST test set\n\nEach captioned: the true digit, then what the model read."
    ),
    "model.mistakes_label": "Most confident mistakes on the MNIST test set",
    "model.read_as": "{label} read as {predicted}",
    "model.collected": "### Collected drawings\n\n⚠️ {warning}",
    "model.collected_none": (
        "### Collected drawings\n\nNo held-out collected drawings yet: one in five corrected drawings is held out "
        "(never trained on) to measure the model; correct a few readings on the Draw tab."
    ),
    "model.collected_title": "### Held-out collected drawings: {accuracy}{beside}",
    "model.collected_beside": " (MNIST test: {accuracy})",
    "model.collected_rests": "Rests on {count} drawings people corrected and that no fine-tune learns from.",
    # the Train tab
    "train.preset": "Preset",
    "train.preset.what": "A ready-made recipe; it fills in the settings below.",
    "train.preset.default": "default: the shipped model's recipe, {what}",
    "train.preset.seed": "seed: the notebook exactly, {what}",
    "train.preset.cnn": "cnn: the convolutional network, {what}",
    "train.preset.fast": "fast: a minute-long try, {what}",
    "train.describe": "{epochs} epochs on {images} MNIST images",
    "train.describe_one": "1 epoch on {images} MNIST images",
    "train.describe_pens": ", with real pen handwriting",
    "train.serve": "Serve the new model when it finishes (if it reads no worse)",
    "train.include": "Include the collected drawings ({train} to train on; {held} held out to measure)",
    "train.include_none": (
        "Include the collected drawings (none yet: press “Wrong? It is a:” under a reading to collect one)"
    ),
    "train.include_off": "Include the collected drawings (none are kept on this server)",
    "train.retrain": "Retrain",
    "train.cancel": "Cancel",
    "train.watch": "Watch the running training",
    "train.finetune_epochs": "Fine-tune epochs",
    "train.finetune": "Fine-tune on collected drawings",
    "train.finetune_none": "Fine-tune on collected drawings (none yet)",
    "train.versions": "Saved versions",
    "train.serving_mark": "{label}  ← serving",
    "train.switch": "Serve this version",
    "train.idle": "No training yet. Choose settings and press <b>Retrain</b>.",
    "train.state.loading": "Preparing",
    "train.state.training": "Training",
    "train.state.saving": "Saving",
    "train.state.completed": "Done",
    "train.state.cancelled": "Cancelled",
    "train.state.failed": "Failed",
    "train.state.finetune": "Fine-tuning",
    "train.job": "training #{job}",
    "train.job_finetune": "fine-tune #{job}",
    "train.elapsed": "elapsed {seconds} s",
    "train.loss_plot": "Loss: blue = training (mean so far in the epoch), orange = validation",
    "train.accuracy_plot": "Accuracy: blue = training, orange = validation",
    "train.curve.train": "train",
    "train.curve.validation": "validation",
    "train.curve.epoch": "epoch",
    "train.curve.loss": "loss",
    "train.curve.accuracy": "accuracy",
    "train.disabled": "Retraining is disabled: {reason}",
    "train.no_data": "No training data: {problem}",
    "train.old_new": "### Old vs new",
    "train.old": "old: {label}",
    "train.new": "new: {label}",
    "train.accuracy": "accuracy",
    "train.mnist_test": "MNIST test",
    "train.real_handwriting": "real handwriting",
    "train.now_serving": "The new model is serving now.",
    "train.still_old": "The old model is still serving; pick the new version below to switch.",
    "train.before_after": "### Before vs after fine-tuning",
    "train.held_collected": "held-out collected drawings ({count})",
    "train.model": "model",
    "train.before": "before: {label}",
    "train.after": "after: {label}",
    "train.tuned_serving": (
        "The fine-tuned model is serving now: it reads the held-out drawings no worse and MNIST test within the "
        "allowed drop."
    ),
    "train.not_served": "Not served — {reason}. It is kept as a version below.",
    "train.learnt_from": "Learnt from {count} collected drawings. {verdict}",
    "train.split": (
        "A validation split of {split} keeps {check} of the {total} training images only to check the network, "
        "so {learn} images teach it."
    ),
    "train.lesson": (
        "### The notebook's lesson\n"
        "| trained on | accuracy on MNIST test |\n|---|---:|\n"
        "| this run: {learn} images | **{this}** |\n"
        "| the default recipe (the shipped model) | {default} |\n"
        "| the notebook's own run | {notebook} |\n\n"
        "The same network reads far better when all the images teach it."
    ),
}
