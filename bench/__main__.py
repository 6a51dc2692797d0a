"""`make bench`: run every benchmark and print its figures as JSON.

    python -m bench            # all
    python -m bench litmus     # one (names below)
Figures worth keeping go into bench/RESULTS.md, with the machine's load at the time.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

BENCHMARKS: dict[str, str] = {
    "litmus": "bench.litmus_bench",
    "proxy": "bench.proxy_bench",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    results = {"load_average": os.getloadavg()}
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        results[name] = module.main()
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
