"""Summarize a py-spy ``--format raw`` (collapsed stacks) file: inclusive and own time per function.

python benchmarks/stacks.py benchmarks/results/profile-200.txt [--top 40] [--match router/]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only frames containing this text (inclusive list)")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in args.path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"{total} samples")
    print("inclusive:")
    shown = 0
    for frame, n in inclusive.most_common():
        if args.match in frame:
            print(f"  {n / total:6.1%}  {frame}")
            shown += 1
            if shown >= args.top:
                break
    print("own:")
    for frame, n in own.most_common(args.top // 2):
        print(f"  {n / total:6.1%}  {frame}")


if __name__ == "__main__":
    main()
