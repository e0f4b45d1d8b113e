"""Fitting networks with TensorFlow: the image pool, augmentation, the fit loop and its recipes (from scratch,
fine-tune). The only subpackage that imports TensorFlow at module level; `serving` starts it in a worker."""
