"""The web demo's pages, one module per tab, over mnist_core (which holds no UI code)."""

from mnist_ui.gradio_stubs import skip_stub_writer

skip_stub_writer()
