"""``python -m seqtasks ...`` is the ``seqtasks`` command (see `seqtasks.cli`)."""

import sys

from seqtasks.cli import main

sys.exit(main())
