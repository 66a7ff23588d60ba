"""``python -m nnscratch`` runs the command line."""

import sys

from nnscratch.run.cli import main

sys.exit(main())
