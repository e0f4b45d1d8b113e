"""The network and its files: the Keras definition (`network`, TensorFlow on demand), the NumPy forward pass
that serves it (`forward`), `.keras` files with their sidecars (`files`), versions on disk (`versions`) and
test reports (`reports`). Imports `imaging` and `data` only; `network` is the one module that needs Keras."""
