"""The web demo's pages, one module per tab, over mnist_core (which holds no UI code)."""
