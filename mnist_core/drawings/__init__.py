"""Drawings people corrected: the SQLite store, export and import, and the policy for collecting them
(caps, rates, privacy). Imports `imaging` and `data` (to redraw strokes for training); no TensorFlow."""
