"""Fails on a blank image: `check_report_images.py PNG...` exits 1 naming every PNG whose
pixels are (nearly) all one colour, 0 otherwise. Used by tests/cli/test_cli_report.cpp on the
report's figures and on the browser's screenshot of index.html.
"""

import sys

# A figure with axes, labels and one line differs from its background in far more than this
# share of pixels; a blank (or a lone title) does not.
MIN_INK = 0.005


def ink_share(pixels):
    """Share of pixels that differ from the most common colour (the background)."""
    import numpy as np
    rgb = (np.asarray(pixels)[..., :3] * 255).round().astype(np.int64)
    flat = rgb.reshape(-1, 3)
    keys = flat[:, 0] * 65536 + flat[:, 1] * 256 + flat[:, 2]
    _, counts = np.unique(keys, return_counts=True)
    return 1.0 - counts.max() / keys.size


def main(paths):
    import matplotlib.image as mpimg
    bad = 0
    for p in paths:
        share = ink_share(mpimg.imread(p))
        ok = share >= MIN_INK
        print("%s %s: %.2f%% of pixels drawn" % ("ok" if ok else "BLANK", p, 100 * share))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
