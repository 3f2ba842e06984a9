"""Regenerates the embedded datasets: `python data/make_datasets.py [OUT_DIR]`.

OUT_DIR defaults to this script's folder. The output is deterministic, so running it
again in place changes nothing unless the generators in `seqtasks/synthetic.py` changed.
"""

import sys
from pathlib import Path

from seqtasks.data.synthetic import write_embedded

if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    write_embedded(out_dir)
    print(f"wrote the embedded datasets under {out_dir}")
