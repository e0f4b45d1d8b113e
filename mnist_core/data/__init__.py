"""Training and test data: MNIST's files, UNIPEN's pen handwriting split by writer, and pad-like renderings
of it. Imports only `imaging` (strokes are drawn the way the web pad draws them); no TensorFlow."""
