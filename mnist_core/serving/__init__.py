"""What the running demo does: readings of drawings, the served-model holder, and the one background job.
NumPy only at import time: `training` is imported lazily, inside the job's worker thread."""
