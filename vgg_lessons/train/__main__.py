"""``python -m vgg_lessons.train``: the training command line (:mod:`vgg_lessons.train.cli`).

Exit status 0 after a run, 1 for missing data, a diverged run or a failed write, 2 for a bad
option, 130 after Ctrl-C.
"""

from vgg_lessons.train.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()  # exits 0; main() itself exits 1 or 2 on failure (SystemExit(history) would exit 1)
