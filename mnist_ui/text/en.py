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
        "# Draw a digit\nTwo neural networks read what you write: the dense one of the course notebook “Redes "
        "Neuronales Convolucionales” and a convolutional one, both trained on MNIST and on real pen handwriting."
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
    "setting.loss.value": "cross-entropy",
    "setting.loss.what": ("How wrong the network is on average (cross-entropy): it falls as the network learns."),
    "value.yes": "yes",
    "value.no": "no",
    # the Draw tab's pad, result panel, the other network's line, the model badge, presentation mode (painted in
    # the browser: mnist_ui/components/lang_switch.py)
    "pad.aria": "Drawing pad: draw one digit with the mouse, a finger or a pen",
    "pad.hint": "draw one digit here",
    "pad.undo": "↶ Undo",
    "pad.undo_title": "Undo the last stroke (Ctrl+Z)",
    "pad.clear": "✕ Clear",
    "pad.clear_title": "Clear the pad (Esc)",
    "pad.no_answer": "the server did not answer; check your connection and draw again",
    "result.probs": "Probability of each digit",
    "result.seen": "What the model saw (28×28)",
    "result.not_digit": "Not a digit",
    "result.sure": "{p} sure",
    "result.maybe": "not sure: maybe {digit} ({p})",
    "result.said": "Read as {digit}, {p} sure. {all}.",
    "result.said_unsure": "Read as {digit}, unsure, {p} sure. {all}.",
    # what the server says of a reading, in English in the API: the page shows each in its language (the English
    # must stay the server's text: tests/test_words.py checks it)
    "msg.hint_draw": "draw a digit",
    "msg.hint_upload": "upload a picture of one digit",
    "msg.hint_teach": "draw the digit asked for",
    "msg.blank": "nothing to read: draw one digit",
    "msg.blank_picture": "nothing to read in this picture: send a picture of one digit, dark on light or light on dark",
    "msg.unsure": "unsure",
    "msg.speckle": "speckle, not a drawn digit",
    "msg.line": "a line",
    "msg.filled": "filled in",
    "msg.wide": "wider than one digit",
    "msg.dot": "a dot",
    "msg.dots": "dots",
    "msg.scribbled": "scribbled over",
    "msg.several": "several digits",
    "msg.busy": "the server is too busy to read your drawing now; draw again in a moment",
    "msg.too_many": "too many drawings at once from your address; draw again in a moment",
    "msg.unreadable": "that file is not a readable image; send a PNG, JPEG, BMP, GIF or WebP",
    "msg.no_model": "no model is loaded",
    "network.dense": "The dense network (the notebook's)",
    "network.cnn": "The convolutional network",
    "network.reads": "reads {digit}, {p} sure.",
    "network.differ": "The two networks differ here.",
    "badge.reads": "Your model reads your drawings",
    "badge.which": "Which model reads",
    "badge.yours": "Your model",
    "badge.shared": "Shared model",
    "badge.compare": "Compare",
    "badge.by_yours": "Answered by your model",
    "badge.by_shared": "Answered by the shared model",
    "badge.both": "The shared model reads {shared} ({sp}); yours {yours} ({yp}).",
    "present.enter": "Presentation mode",
    "present.leave": "Leave presentation mode",
    # inside the network (Draw tab): `{name}` fields are filled in the browser
    "inside.summary": "Inside the network",
    "inside.empty": "Draw a digit to see inside the network.",
    "inside.path": "From your drawing to the network",
    "inside.drawing": "your drawing",
    "inside.box": "cut to its box",
    "inside.fit": "fit in 20×20",
    "inside.centred": "centred in 28×28",
    "inside.deskewed": "slant taken out",
    "inside.reads": "what the network reads",
    "inside.units": "The first layer",
    "inside.on": "{on} of {total} units fire for this drawing ({share}).",
    "inside.units_legend": (
        "The {k} that fire most, each drawn as the weight it gives every pixel: orange adds, blue takes away. "
        "The number is how strongly it fires."
    ),
    # the convolutional network's first layer (its inside view: branch inside-cnn)
    "inside.filters": "The first convolution",
    "inside.convolution": (
        "A convolution slides one small pattern of weights over every place of the drawing and scores how "
        "well each place matches it: each score is one filter position."
    ),
    "inside.filters_on": "{on} of {total} filter positions fire for this drawing ({share}).",
    "inside.filters_legend": (
        "The {k} filters that fire most. The big square shows where each one found its pattern on your "
        "drawing (darker orange, stronger); the small one is its 3×3 pattern: orange adds, blue takes away. "
        "The number is its strongest score."
    ),
    "inside.why": "Why {answer} and not {runner}",
    "inside.why_legend": "Orange pixels pushed toward {answer}, blue ones toward {runner}, the runner-up.",
    "inside.probs": "How sure it is",
    "inside.softmax": (
        "The network gives each digit a score; softmax turns the ten scores into probabilities: shares of 100% "
        "that say how sure it is of each digit."
    ),
    "inside.shared": "Your own model answered above; this is the shared network it builds on.",
    # lines the server's code writes in English (the API keeps them so), shown in the page's language by
    # phrase (words.translated); the longest phrase wins
    "said.kept_an": "kept as an {digit}",
    "said.kept_a": "kept as a {digit}",
    "said.changed_an": "changed to an {digit}",
    "said.changed_a": "changed to a {digit}",
    "said.learns": "the shared model learns from it when it is fine-tuned",
    "said.collected_one": "(1 drawing collected)",
    "said.collected": "({count} drawings collected)",
    "said.your_reads": "your model now reads this {digit}",
    "said.shared_not_kept": "the shared collection did not keep it",
    "said.not_learnt": "your model did not learn it",
    "said.no_longer": "this drawing is no longer kept",
    "said.forgot": "your model forgot it",
    "said.undone": "undone",
    "said.nothing_undo": "nothing to undo",
    "said.not_kept_drawing": "this drawing is not kept",
    "said.nothing_save": "nothing to save: draw (or upload) one digit first",
    "said.not_saved": "not saved",
    "said.not_undone": "not undone",
    "said.not_kept": "not kept: corrections are off on this server",
    "said.off": "corrected drawings are not kept on this server",
    "said.not_collect": "this server does not collect drawings for the shared model",
    "said.epoch": "epoch {epoch}/{epochs}, batch {batch}/{batches} ({share})",
    "said.left": "about {seconds} s left",
    "said.saving": "evaluating on the test sets and saving",
    "said.loading_drawings": "loading the MNIST training data and the collected drawings",
    "said.loading": "loading the MNIST training data",
    "said.starting_build": "starting (building the model)",
    "said.building": "building the model",
    "said.redrawing": "redrawing the collected drawings",
    "said.cancelled_after": "cancelled after all {epochs} epochs, before saving",
    "said.not_changed": "the serving model was not changed",
    "said.not_started": "not started",
    "said.epochs_range": "epochs must be 1–{most}",
    "said.batch_range": "batch size must be {least}–{most}",
    "said.retrain_off": "retraining is disabled",
    "said.finetune_off": "fine-tuning is disabled",
    "said.pick": "pick a version first",
    "said.now_serving": "now serving the {label}",
    "said.not_switched": "not switched",
    "said.switch_off": "switching models is disabled",
    "said.version_acc": "· {acc} MNIST test",
    "said.offline": (
        "no MNIST on this machine and no internet to download it ({reason}): start with --data PATH (a folder"
        " with the four MNIST IDX files, or a mnist.npz), or connect this machine to the internet once (11 "
        "MB, kept)"
    ),
    "said.no_mnist": (
        "no MNIST on this machine: point MNIST_DATA (or --data) at a folder with the four MNIST IDX files or "
        "a mnist.npz"
    ),
    "said.has_model": "You have a personal model that remembers {count} of your drawings; the Draw tab reads with it.",
    "said.model_gone": "Your personal model is gone (forgotten, or dropped as unused); teach it again.",
    "said.model_unreadable": "Your personal model cannot be read now ({why}); the shared model answers.",
    "said.forgotten": "forgotten: your drawings and your model are deleted",
    "said.no_profile": "there was no such profile",
    "said.not_forgotten": "not forgotten",
    "said.not_taught": "not taught",
    "said.not_remembered": "not remembered",
    "said.remembers_one": "{whose} remembers 1 more drawing ({total} in all), in {seconds} s",
    "said.remembers": "{whose} remembers {count} more drawings ({total} in all), in {seconds} s",
    "said.new_model": "a new model of your own",
    "said.your_model": "your model",
    "said.reads_well_one": (
        "the shared model already reads you well: it read the drawing held back to check, and so does yours"
    ),
    "said.reads_well": (
        "the shared model already reads you well: it read all {count} drawings held back to check, and so does yours"
    ),
    "said.held_back": "of {count} drawings held back to check, the shared model read {shared} and yours reads {yours}",
    "said.held_back_one": "of 1 drawing held back to check, the shared model read {shared} and yours reads {yours}",
    "said.shared_of": "shared {kept} of {count} drawings with the collection",
    "said.cannot_keep": "corrected drawings cannot be kept",
    "said.shipped_cnn": "shipped convolutional model",
    "said.shipped": "shipped model",
    # the Teach it tab
    "teach.intro": (
        "**Teach it your handwriting.** Draw each digit the way you write it; a model of your own remembers "
        "your style at once. It changes nothing anyone else sees. Your drawings stay in your profile unless "
        "you share them."
    ),
    "teach.teaching": "Done: teaching your model…",
    "teach.of": "{n} of {total}",
    "teach.draw": "Draw a {digit}",
    "teach.draw_first": "Draw a {digit} on the pad first (or skip it).",
    "teach.check_drawn": "drawn",
    "teach.check_shared": "shared model read",
    "teach.check_yours": "your model reads",
    "teach.checks": "drawings held back to check",
    "teach.none": "Draw at least one digit first.",
    "teach.not_taught": "Not taught: {why}",
    "teach.done": "Done: {what}. The Draw tab now reads your drawings with it.",
    "teach.no_model": "You have no personal model here.",
    "teach.next": "Next ›",
    "teach.skip": "Skip this one",
    "teach.now": "Teach now",
    "teach.restart": "Start over",
    "teach.times": "Drawings of each digit",
    "teach.share": "Share my drawings with the shared collection",
    "teach.forget": "Forget me",
    "teach.reading.yours": "Your model",
    "teach.reading.shared": "The shared model",
    "teach.reading.reads": "{whose} reads {digit} ({p})",
    "teach.reading.no_digit": "{whose} sees no digit ({doubt})",
    # the Drawings tab
    "drawings.empty": (
        "**No drawings yet.** When the model reads a digit wrong on the **Draw** or **Upload** tab, press "
        "**Wrong? It is a:** and the right digit: the drawing is kept here with its label. Or import a zip "
        "below."
    ),
    "drawings.all_col": "all",
    "drawings.in_file": "in `{path}`",
    "drawings.kept_here": "kept on this server",
    "drawings.summary": (
        "{total} drawings {where}; the model read {wrong} of them wrong; {held} held out (never trained on) "
        "to measure fine-tunes."
    ),
    "drawings.caption": "#{id}: {label} (read {read})",
    "drawings.of_digit": "{digit}s, ",
    "drawings.read_wrong": "read wrong, ",
    "drawings.showing": "showing {count} drawings ({what}newest first)",
    "drawings.no_match": "no drawings match",
    "drawings.intro": (
        "Drawings visitors corrected: the Model tab measures the serving model on the held-out ones, **Train "
        "→ Fine-tune on collected drawings** learns from the others."
    ),
    "drawings.import_file": "Import a zip made by Export",
    "drawings.import": "Import",
    "drawings.all": "all digits",
    "drawings.wrong_only": "Only those the model read wrong",
    "drawings.refresh": "Refresh",
    "drawings.gallery_title": "#### What the model saw of each (✗ = the model read it wrong)",
    "drawings.gallery": "Collected drawings: what the model saw (✗ = the model read it wrong)",
    "drawings.delete": "Delete the selected drawing",
    "drawings.confirm": "yes, delete every drawing",
    "drawings.delete_all": "Delete all",
    "drawings.export_zip": "Export zip (PNGs + labels.csv)",
    "drawings.export_idx": "Export MNIST IDX files",
    "drawings.status": "what the last action did",
    "drawings.exported": "Exported files",
    "said.not_deleted": "not deleted",
    "said.pick_drawing": "pick a drawing in the gallery first",
    "said.deleted_one": "deleted drawing #{id}",
    "said.already": "drawing #{id} was already deleted",
    "said.deleted_all": "deleted all {count} drawings",
    "said.tick": "tick “yes, delete every drawing” first",
    "said.private": "on a public server only a logged-in user may see or change the collected drawings",
    # the Upload tab and the correct bar
    "upload.title": "**A photo or scan of one digit**",
    "upload.label": "A photo or scan of one digit",
    "upload.examples": "Examples: click one",
    "correct.hint": "Draw a digit: then tell it whether it read you right.",
    "correct.right": "Right",
    "correct.wrong": "<b>Wrong? It is a:</b>",
    "correct.undo": "Undo",
    "correct.own": "Your own model learns each one at once, for you alone (Teach it tab: forget me).",
    "correct.not_kept": "corrected drawings are not kept on this server",
    "correct.place": "on this server",
    "correct.place_file": "on this server in `{path}`",
    "correct.where": (
        "Right or a digit keeps the drawing, what the model read and your label {place} (Drawings tab: see, "
        "export, delete)."
    ),
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
