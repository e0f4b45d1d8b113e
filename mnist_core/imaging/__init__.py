"""Picture or pen strokes → the 28×28 digit MNIST would show. NumPy and Pillow only, imports nothing else
of this package: it is what serving runs on every answer, so it must stay fast and TensorFlow-free."""
