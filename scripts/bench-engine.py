#!/usr/bin/env python3
"""Engine benchmark: a 1,000-step workflow without a browser (set, log, if).

Runs `alq run` on it several times and reports the median wall time and the peak
memory (max RSS) next to a baseline measured in the same run: `alq validate` of the
same file (process start, parsing and validation, no execution). Usage:

    cargo build --release && scripts/bench-engine.py [path/to/alq] [runs]
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ALQ = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "release", "alq")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def workflow(steps=1000):
    body = [{"action": "set", "vars": {"n": 0}}]
    while len(body) < steps:
        kind = len(body) % 3
        if kind == 0:
            body.append({"action": "set", "vars": {"n": "{{ vars.n + 1 }}"}})
        elif kind == 1:
            body.append({"action": "log", "message": "step {{ vars.n }}"})
        else:
            body.append({"action": "if", "condition": "vars.n % 2 == 0",
                         "then": [], "else": []})
    return {"name": "bench-1000", "outputs": {"n": "{{ vars.n }}"}, "steps": body}


def run_one(args, cwd):
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    if status != 0:
        sys.exit(f"{' '.join(args)} failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.json")
        with open(path, "w") as f:
            json.dump(workflow(), f)
        results = {"validate": [], "run": []}
        for i in range(RUNS):
            results["validate"].append(run_one([ALQ, "validate", path], tmp))
            results["run"].append(run_one([ALQ, "run", path, "--out", f"run-{i}"], tmp))
        print(f"alq: {ALQ}; {RUNS} runs each; 1,000 steps (set, log, if)")
        for name, samples in results.items():
            walls = [w for w, _ in samples]
            rss = [r for _, r in samples]
            print(f"  {name:9} wall median {statistics.median(walls):7.1f} ms "
                  f"(min {min(walls):.1f}, max {max(walls):.1f}); "
                  f"max RSS median {statistics.median(rss):.1f} MiB (max {max(rss):.1f})")
        ratio = statistics.median(w for w, _ in results["run"]) / statistics.median(
            w for w, _ in results["validate"])
        print(f"  run / validate wall ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
