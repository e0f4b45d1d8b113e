"""Entry point for `python -m mnist_core`."""

from mnist_core.threads import cap_threads

cap_threads()  # before mnist_core.cli imports NumPy

import sys  # noqa: E402

from mnist_core.cli import main  # noqa: E402

sys.exit(main())
