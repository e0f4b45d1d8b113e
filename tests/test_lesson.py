"""The notebook's lesson on the Train tab (issue 33): what the validation split leaves to learn from, and a seed run's
accuracy beside the default recipe's and the notebook's own."""

from __future__ import annotations

from mnist_core.config import NOTEBOOK, SHIPPED_MODEL, HyperParams, mnist_images, preset
from mnist_core.model.files import read_metadata
from mnist_core.serving.snapshot import TrainSnapshot
from mnist_ui.tabs.train import comparison_md, lesson_md, split_md


def test_the_split_line_says_what_the_notebooks_split_does() -> None:
    assert split_md(NOTEBOOK.validation_split) == (
        "A validation split of 0.999 keeps 59,940 of the 60,000 training images only to check the network, "
        "so 60 images teach it."
    )
    assert mnist_images(preset("seed")) == 60
    assert "keeps 1,200 of the 12,000 training images" in split_md(0.1, 12000)
    assert split_md(0.0).endswith("so 60,000 images teach it.")


def finished(hp: HyperParams, accuracy: float) -> TrainSnapshot:
    return TrainSnapshot(
        job_id=1,
        state="completed",
        old_label="shipped model",
        old_accuracy=0.99,
        new_path="/tmp/m.keras",
        new_accuracy=accuracy,
        new_per_class=(accuracy,) * 10,
        hp=hp,
    )


def test_a_seed_run_ends_beside_the_default_recipe_and_the_notebook() -> None:
    shipped = read_metadata(SHIPPED_MODEL)["metrics"]["test_accuracy"]
    lesson = lesson_md(finished(preset("seed"), 0.5473))
    assert "| this run: 60 images | **54.7%** |" in lesson
    assert f"| the default recipe (the shipped model) | {shipped:.1%} |" in lesson
    assert "| the notebook's own run | 58.6% |" in lesson
    assert lesson in comparison_md(finished(preset("seed"), 0.5473))
    assert lesson_md(finished(preset("fast"), 0.97)) == ""
    assert "notebook" not in comparison_md(finished(preset("fast"), 0.97))
