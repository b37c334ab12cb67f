"""``python -m grader.course.bench [flags]``: the same as ``course bench [flags]``."""

import sys

from grader.course.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
