"""The benchmark as a script: ``python benchmarks/bench.py [--quick] [--threads N] [--json]``.

Same as ``nnscratch bench``; the code lives in `nnscratch.lab.bench`.
"""

import sys

from nnscratch.run.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
