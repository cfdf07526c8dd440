#!/usr/bin/env python3
"""Robot benchmark: an idle robot's memory and CPU, the binary's size, and the time from
job creation to the first step starting on an idle robot (a workflow without a browser).

Starts a real `alq server` (SQLite, a temp data folder, a free loopback port), logs in
with its admin token, registers a robot and runs `alq robot run`, all with the release
binary and private config folders. Usage:

    scripts/bench-robot.py [--alq PATH] [--jobs 30] [--idle 30] [--settle 10]

Without --alq it runs `cargo build --release -p alq` first and uses
$CARGO_TARGET_DIR/release/alq (target/ when unset).

Clocks. Every time compared is wall-clock time (CLOCK_REALTIME) on this one machine, so
the server, the robot and this script share it:
  - created: this script's time.time() just before it sends `POST /api/v1/jobs`;
  - leased:  the robot's log line "Job leased." (tracing's timestamp, microseconds);
  - step:    the `at` of the job's first `step_started` event, which the robot's engine
             takes from Utc::now() as the step begins (read back through the API).
Idle CPU is utime + stime of the robot process (all threads) from /proc/PID/stat over
--idle seconds of wall time; memory is VmRSS and VmHWM from /proc/PID/status.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

WORKFLOW = {
    "name": "bench-log",
    "steps": [{"action": "log", "message": "hello from the bench"}],
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--alq", help="the alq binary [default: build the release one]")
    p.add_argument("--jobs", type=int, default=30, help="jobs to time [30]")
    p.add_argument("--idle", type=float, default=30, help="seconds of idle CPU [30]")
    p.add_argument("--settle", type=float, default=10,
                   help="seconds the robot is parked before idle figures [10]")
    p.add_argument("--keep", action="store_true", help="keep the temp folder")
    return p.parse_args()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def release_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "-p", "alq"], check=True, cwd=ROOT)
    return os.path.join(ROOT, target, "release", "alq")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    def __init__(self, alq, tmp):
        self.alq = alq
        self.tmp = tmp
        self.env = dict(os.environ)
        for var in ("ALQ_URL", "ALQ_TOKEN", "ALQ_CA_CERT", "RUST_LOG"):
            self.env.pop(var, None)
        self.env.update({
            "ALQ_CONFIG_DIR": os.path.join(tmp, "config"),
            "ALQ_ROBOT_DIR": os.path.join(tmp, "robot"),
            "NO_COLOR": "1",
        })
        self.procs = []

    def cli(self, *args):
        out = subprocess.run([self.alq, *args], env=self.env, cwd=self.tmp,
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"alq {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
        return out.stdout

    def spawn(self, name, args, extra_env=None):
        log = open(os.path.join(self.tmp, f"{name}.log"), "w")
        env = dict(self.env, **(extra_env or {}))
        proc = subprocess.Popen([self.alq, *args], env=env, cwd=self.tmp,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def log(self, name):
        with open(os.path.join(self.tmp, f"{name}.log")) as f:
            return f.read()

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def start_server(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = self.spawn("server", [
            "server", "--listen", f"127.0.0.1:{port}",
            "--data-dir", os.path.join(self.tmp, "data")])
        deadline = time.time() + 60
        while "listening on" not in self.log("server"):
            if self.server.poll() is not None or time.time() > deadline:
                sys.exit(f"alq server did not start:\n{self.log('server')}")
            time.sleep(0.05)
        self.token = re.search(r"alq_pat_\S+", self.log("server")).group(0)

    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def start_robot(self):
        self.cli("login", "--url", self.url, "--token", self.token)
        path = os.path.join(self.tmp, "bench-log.json")
        with open(path, "w") as f:
            json.dump(WORKFLOW, f)
        self.cli("workflow", "push", path)
        reg = json.loads(self.cli("robot", "token", "create", "--json"))["token"]
        self.cli("robot", "register", "--url", self.url, "--token", reg, "--name", "bench")
        self.robot = self.spawn("robot", ["robot", "run"], {"RUST_LOG": "info"})
        deadline = time.time() + 30
        while "Robot started" not in self.log("robot"):
            if self.robot.poll() is not None or time.time() > deadline:
                sys.exit(f"alq robot run did not start:\n{self.log('robot')}")
            time.sleep(0.05)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def kib(value):
    return int(value.split()[0])


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: fields count from after its ')'.
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


def idle_figures(bench, settle, seconds):
    time.sleep(settle)
    pid = bench.robot.pid
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    start_ticks, start = cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    used = (cpu_ticks(pid) - start_ticks) / ticks_per_s
    wall = time.monotonic() - start
    status = proc_status(pid)
    return {
        "rss_kib": kib(status["VmRSS"]),
        "hwm_kib": kib(status["VmHWM"]),
        "threads": int(status["Threads"]),
        "cpu_s": used,
        "wall_s": wall,
        "tick_s": 1 / ticks_per_s,
    }


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


LEASED = re.compile(r"^(\S+)\s+INFO\s.*Job leased\..*job\.id=(\d+)", re.M)


def job_latencies(bench, jobs):
    rows = []
    for _ in range(jobs):
        # Parked: the previous job is done and the robot waits on a long-poll again.
        time.sleep(1.0)
        created = time.time()
        job = bench.api("POST", "/jobs", {"workflow": WORKFLOW["name"]})
        deadline = time.time() + 60
        while True:
            state = bench.api("GET", f"/jobs/{job['id']}")["state"]
            if state == "succeeded":
                break
            if state in ("failed", "dead", "cancelled") or time.time() > deadline:
                sys.exit(f"job {job['id']} ended {state}:\n{bench.log('robot')}")
            time.sleep(0.05)
        events = bench.api("GET", f"/jobs/{job['id']}/events")["items"]
        step = next(e["event"]["at"] for e in events
                    if e["event"]["event"] == "step_started")
        leased = {int(i): t for t, i in LEASED.findall(bench.log("robot"))}[job["id"]]
        rows.append({
            "create_to_step": (at(step) - created) * 1000,
            "create_to_lease": (at(leased) - created) * 1000,
            "lease_to_step": (at(step) - at(leased)) * 1000,
        })
    return rows


def p90(values):
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main():
    args = parse_args()
    alq = os.path.abspath(args.alq or release_binary())
    tmp = tempfile.mkdtemp(prefix="alq-bench-robot.")
    bench = Bench(alq, tmp)
    try:
        bench.start_server()
        bench.start_robot()
        idle = idle_figures(bench, args.settle, args.idle)
        rows = job_latencies(bench, args.jobs)
        # Idle again, after the jobs: what a robot that has worked keeps.
        time.sleep(args.settle)
        after = proc_status(bench.robot.pid)
        if bench.robot.poll() is not None:
            sys.exit(f"the robot exited:\n{bench.log('robot')}")
    finally:
        bench.stop_all()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    stripped = os.path.join(tempfile.gettempdir(), f"alq-stripped-{os.getpid()}")
    shutil.copy(alq, stripped)
    subprocess.run(["strip", "--strip-all", stripped], check=True)
    stripped_size = os.path.getsize(stripped)
    os.remove(stripped)

    print(f"alq: {alq}")
    print(f"binary: {os.path.getsize(alq) / 2**20:.1f} MiB as built, "
          f"{stripped_size / 2**20:.1f} MiB after strip --strip-all")
    print(f"idle robot after {args.settle:.0f} s parked: VmRSS {idle['rss_kib'] / 1024:.1f} MiB, "
          f"VmHWM {idle['hwm_kib'] / 1024:.1f} MiB, {idle['threads']} threads")
    print(f"idle again {args.settle:.0f} s after the jobs: VmRSS {kib(after['VmRSS']) / 1024:.1f} MiB, "
          f"VmHWM {kib(after['VmHWM']) / 1024:.1f} MiB, {after['Threads']} threads")
    print(f"idle CPU over {idle['wall_s']:.1f} s: {idle['cpu_s']:.2f} s "
          f"= {100 * idle['cpu_s'] / idle['wall_s']:.3f} % of one core "
          f"(clock tick {idle['tick_s'] * 1000:.0f} ms)")
    print(f"{len(rows)} jobs, one `log` step each, robot idle and parked before each:")
    for key, label in (("create_to_step", "POST -> first step started"),
                       ("create_to_lease", "POST -> robot logs Job leased"),
                       ("lease_to_step", "Job leased -> first step started")):
        values = [r[key] for r in rows]
        print(f"  {label:34} median {statistics.median(values):6.1f} ms, "
              f"p90 {p90(values):6.1f} ms, min {min(values):6.1f}, max {max(values):6.1f}")


if __name__ == "__main__":
    main()
