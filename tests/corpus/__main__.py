"""``cd tests && python -m corpus --truth`` rewrites tests/corpus/truth/*.yaml;
``python -m corpus FOLDER [--formats xes,csv]`` writes the logs there."""

from __future__ import annotations

import argparse

from . import write_corpus, write_truth_files


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m corpus")
    p.add_argument("folder", nargs="?", help="write the logs into this folder")
    p.add_argument("--formats", default="xes,csv")
    p.add_argument("--truth", action="store_true", help="rewrite tests/corpus/truth/*.yaml")
    a = p.parse_args()
    if a.truth:
        for path in write_truth_files():
            print(path)
    if a.folder:
        for name, files in write_corpus(a.folder, tuple(a.formats.split(","))).items():
            print(name, *[str(f) for f in files.values()])


if __name__ == "__main__":
    main()
