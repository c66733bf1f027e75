"""Benchmark: the default `cxdata run` of a generated project, per asset step: wall time, CPU and peak RSS.

    uv run python benchmarks/pipeline.py --customers 1400000 [--dir D] [--config F]

Without ``--config`` a project of ``--customers`` people is made with ``cxdata generate`` (a child process,
so its memory is not this one's) in ``--dir`` (kept; reused as it is when it already holds a cxdata.yaml)
or in a temporary folder. With ``--config`` that project is run as it is. The run is `run_project`, what
``cxdata run --config F`` calls, in this process; its steps run one after another (`execute_in_process`
uses the in-process executor whatever the definitions' executor), so the process's memory at any moment
is the running step's.

Peak RSS of a step is exact on Linux: the kernel's high-water mark (VmHWM) is reset when the step starts
(/proc/self/clear_refs) and read when it ends. A thread also samples VmRSS every 0.2 s, bucketed by the
steps running at that moment; where the mark cannot be reset (or steps overlap) the sampled peak is shown.
The run's peak is the largest of all. Target (issue; 2 cores, 1.4M customers): <= 5 min, <= 6 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cxdata.config import load_config

TARGET_SECONDS = 300.0
TARGET_GB = 6.0
TARGET_CUSTOMERS = 1_400_000
SAMPLE_SECONDS = 0.2
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_gb(field: str) -> float:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False where that is not possible."""
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Step:
    """One step's wall and CPU seconds and peak RSS (GB); ``exact`` when the peak is the kernel's mark."""

    name: str
    began: float
    cpu: float
    peak_gb: float = 0.0
    seconds: float = 0.0
    event: str = "running"
    exact: bool = False


class Recorder:
    """Hears `run_project`'s step events and samples RSS from a thread, bucketing it by the running steps."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}
        self.running: set[str] = set()
        self.overlapped = False
        self.run_peak_gb = 0.0
        self.between_peak_gb = 0.0  # Dagster's own work outside every step
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self.run_peak_gb = _status_gb("VmRSS")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self.run_peak_gb = max(self.run_peak_gb, _status_gb("VmHWM"))

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            rss = _status_gb("VmRSS")
            with self._lock:
                self.samples += 1
                self.run_peak_gb = max(self.run_peak_gb, rss)
                for name in self.running:
                    self.steps[name].peak_gb = max(self.steps[name].peak_gb, rss)
                if not self.running:
                    self.between_peak_gb = max(self.between_peak_gb, rss)

    def on_step(self, key: str, event: str) -> None:
        """`run_project`'s ``on_step``: a step started, succeeded or failed (failed checks are ignored)."""
        if event not in ("started", "succeeded", "failed"):
            return
        now, cpu = time.perf_counter(), _cpu_seconds()
        with self._lock:
            # the mark so far belongs to the run and to whatever ran until now
            self.run_peak_gb = max(self.run_peak_gb, _status_gb("VmHWM"))
            if event == "started":
                self.overlapped |= bool(self.running)
                self.running.add(key)
                exact = not self.overlapped and _reset_peak()
                self.steps[key] = Step(key, now, cpu, peak_gb=_status_gb("VmRSS"), exact=exact)
                return
            step = self.steps[key]
            self.running.discard(key)
            step.seconds, step.cpu, step.event = now - step.began, cpu - step.cpu, event
            if step.exact and not self.overlapped:
                step.peak_gb = max(step.peak_gb, _status_gb("VmHWM"))
            else:
                step.exact = False


def _project_config(args: argparse.Namespace, scratch: Path) -> Path:
    """The cxdata.yaml to run: ``--config``, else ``--dir``'s (generated there when it has none)."""
    if args.config is not None:
        return args.config
    root = args.dir if args.dir is not None else scratch / "project"
    config = root / "cxdata.yaml"
    if config.exists():
        print(f"reusing the project in {root}")
        return config
    cli = Path(sys.executable).parent / "cxdata"
    command = [
        str(cli),
        "generate",
        "--out",
        str(root),
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
    ]
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"cxdata generate --customers {args.customers:,}: {time.perf_counter() - began:.1f} s (not in the run)")
    return config


def _customers(root: Path) -> str:
    """The generated project's people, from its truth/params.json; "?" for a project not generated."""
    params = root / "truth" / "params.json"
    return f"{json.loads(params.read_text())['realised']['customers']:,}" if params.exists() else "?"


def _report(
    recorder: Recorder, load_seconds: float, run_seconds: float, outcome, customers: str, load: tuple
) -> None:
    print(f"\n{'step':<44} {'wall s':>8} {'CPU s':>8} {'peak RSS GB':>12}")
    for step in sorted(recorder.steps.values(), key=lambda s: s.began):
        mark = "" if step.exact else " (sampled)"
        flag = "" if step.event == "succeeded" else f"  [{step.event}]"
        print(f"{step.name:<44} {step.seconds:>8.1f} {step.cpu:>8.1f} {step.peak_gb:>12.2f}{mark}{flag}")
    stepped = sum(s.seconds for s in recorder.steps.values())
    outside = run_seconds - stepped
    print(f"{'(Dagster outside the steps)':<44} {outside:>8.1f} {'':>8} {recorder.between_peak_gb:>12.2f}")
    print(f"{'(loading the Dagster definitions)':<44} {load_seconds:>8.1f}")
    total = load_seconds + run_seconds
    target = f"target at {TARGET_CUSTOMERS:,} on 2 cores: <= {TARGET_SECONDS / 60:.0f} min, <= {TARGET_GB:.0f} GB"
    figures = f"total {total:.1f} s ({total / 60:.2f} min), peak RSS {recorder.run_peak_gb:.2f} GB"
    counts = f"{len(recorder.steps)} steps, {recorder.samples} RSS samples"
    overlap = "; steps overlapped: sampled peaks only" if recorder.overlapped else ""
    print(f"\n{customers} customers: {figures} ({target}); {counts}{overlap}")
    # a busy machine slows OpenMP (the boosted trees' threads spin-wait for a core): say how busy it was
    print(f"{os.cpu_count()} cores; load average {load[0]:.2f} before the run, {os.getloadavg()[0]:.2f} after")
    status = "succeeded" if outcome.success else f"FAILED: {outcome.failures}"
    print(f"run {outcome.run_id} {status}")
    if outcome.failed_checks or outcome.not_materialised:
        print(f"failed checks: {outcome.failed_checks}; not materialised: {outcome.not_materialised}")


def main() -> None:
    """Generate or reuse a project, run it as `cxdata run` does, print the per-step figures and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=TARGET_CUSTOMERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, help="the project folder: generated there unless it has a cxdata.yaml")
    parser.add_argument("--config", type=Path, help="run this project's cxdata.yaml as it is (no generation)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        config = load_config(_project_config(args, Path(scratch)))
        customers = _customers(config.base_dir)
        began = time.perf_counter()
        from pipelines.runner import run_project  # as `cxdata run` imports it: Dagster loads here

        load_seconds = time.perf_counter() - began
        recorder, load = Recorder(), os.getloadavg()
        recorder.start()
        began = time.perf_counter()
        try:
            outcome = run_project(config, on_step=recorder.on_step)
        finally:
            recorder.stop()
        _report(recorder, load_seconds, time.perf_counter() - began, outcome, customers, load)


if __name__ == "__main__":
    main()
