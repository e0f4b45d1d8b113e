"""Train, evaluate and serve the MNIST dense classifier behind the draw-a-digit demo.

Serving (preprocess, inference, storage, predict) needs only NumPy, Pillow and h5py; training and
evaluation of fresh models import TensorFlow lazily.
"""
