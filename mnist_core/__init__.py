"""Train, evaluate and serve the MNIST dense classifier behind the draw-a-digit demo.

The subpackages are layers; each imports only those before it:
`imaging` → `data` → `model` → `drawings` → `personal` → `training` | `serving`.
`imaging`, `data`, `model` (but `network`), `drawings`, `personal` and `serving` need only NumPy, Pillow and h5py;
`training` imports TensorFlow, and `serving` starts it only inside the job's worker thread.
"""
