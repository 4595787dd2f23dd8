"""Wall time of `envkit report --json` and `envkit doctor`, against `import tensorflow`;
and of the `--from` readers on recorded machines.

Usage: .venv/bin/python scripts/bench_commands.py [--runs N] [--tf-python PATH] [--only-from]
       [--all-envs N]

Each command is run N times as a fresh process; the median is printed. The TensorFlow
interpreter defaults to the test environment that scripts/make_test_envs.sh builds.
`envkit doctor --all-envs` is timed over up to --all-envs environments (default 10): the test
envs of make_test_envs.sh and pyenv's Pythons, each made findable as a Jupyter kernel in a
temporary data dir (JUPYTER_DATA_DIR), beside whatever else this machine has.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_TF_PYTHON = Path(
    os.environ.get("ENVKIT_TEST_ENVS", Path.home() / ".cache/envkit/test-envs"), "tf/bin/python"
)


def median_wall_s(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        # doctor exits 1 when it finds an error: that is a result, not a failure to time
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def compile_envkit() -> None:
    """Write envkit's bytecode first, as a user's first run does. Where PYTHONDONTWRITEBYTECODE
    is set (this workplace sets it), an edited module would otherwise be compiled from source on
    every timed run, which no installed envkit does."""
    package = Path(__file__).resolve().parent.parent / "envkit"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def main() -> None:
    compile_envkit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tf-python", type=Path, default=DEFAULT_TF_PYTHON)
    parser.add_argument("--only-from", action="store_true", help="Only the --from figures.")
    parser.add_argument("--dumps", type=int, default=1000, help="Dumps in the fleet folder.")
    parser.add_argument("--all-envs", type=int, default=10, metavar="N")
    args = parser.parse_args()
    bench_from(args.runs, args.dumps)
    if args.only_from:
        return
    commands = {
        "envkit report --json": [sys.executable, "-m", "envkit", "report", "--json"],
        "envkit doctor --json": [sys.executable, "-m", "envkit", "doctor", "--json"],
        "envkit doctor": [sys.executable, "-m", "envkit", "doctor"],  # the text, through rich
    }
    tf_python = str(args.tf_python) if args.tf_python.exists() else None
    import_tf = None
    if tf_python:
        import_tf = median_wall_s([tf_python, "-c", "import tensorflow"], max(3, args.runs // 3))
        print(f'{tf_python} -c "import tensorflow": median {import_tf:.3f} s')
    else:
        print(f"no TensorFlow interpreter at {args.tf_python}; run scripts/make_test_envs.sh")
    for label, argv in commands.items():
        median_wall_s(argv, 2)  # warm the page cache
        own = median_wall_s(argv, args.runs)
        print(f"{label} (default target): median {own:.3f} s over {args.runs} runs")
        if tf_python and import_tf:
            with_tf = median_wall_s([*argv, "--python", tf_python], args.runs)
            print(
                f"{label} --python <tf env>: median {with_tf:.3f} s, "
                f"{with_tf / import_tf:.3f} x import tensorflow"
            )
    if args.all_envs:
        bench_all_envs(args.all_envs, max(3, args.runs // 3))


def candidate_pythons(tf_python: Path) -> list[Path]:
    test_envs = sorted(tf_python.parent.parent.parent.glob("*/bin/python"))
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pyenv = sorted(pyenv_root.glob("versions/*/bin/python"))
    return [python for python in (*test_envs, *pyenv) if os.access(python, os.X_OK)]


def bench_all_envs(count: int, runs: int) -> None:
    """`envkit doctor --all-envs` with up to ``count`` environments findable."""
    with tempfile.TemporaryDirectory() as data_dir:
        for number, python in enumerate(candidate_pythons(DEFAULT_TF_PYTHON)[: count - 1]):
            folder = Path(data_dir, "kernels", f"bench-{number}")
            folder.mkdir(parents=True)
            argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            (folder / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
        env = {**os.environ, "JUPYTER_DATA_DIR": data_dir}
        argv = [sys.executable, "-m", "envkit", "doctor", "--all-envs", "--json"]
        listed = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        found = len(json.loads(listed.stdout)["targets"])
        median = median_wall_s(argv, runs, env)
        load = os.getloadavg()[0]
        print(
            f"envkit doctor --all-envs ({found} environments): median {median:.3f} s over "
            f"{runs} runs (load average {load:.1f} on {os.cpu_count()} cores)"
        )


# --- --from ------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def eight_gpu_dump() -> str:
    """The real one-GPU A100 -q -x dump with its <gpu> element repeated for GPUs 1-7 (bus ids
    01..08): constructed for timing only, never a fixture."""
    text = (FIXTURES / "nvidia-smi" / "telegraf-a100-sxm4-mig-v12.xml").read_text()
    start, end = text.index("    <gpu id="), text.index("</nvidia_smi_log>")
    gpu = text[start:end]
    copies = [gpu.replace("00000000:01:00.0", f"00000000:{n:02X}:00.0") for n in range(1, 9)]
    return text[:start] + "".join(copies) + text[end:]


def five_thousand_line_log() -> str:
    """Real log excerpts of tests/fixtures/logs repeated to 5,000 lines: constructed for timing
    only, never a fixture (a long training log with the lines that matter inside it)."""
    pieces = [path.read_text() for path in sorted((FIXTURES / "logs").glob("*.txt"))]
    lines: list[str] = []
    while len(lines) < 5000:
        for piece in pieces:
            lines += piece.splitlines()
    return "\n".join(lines[:5000]) + "\n"


def median_cpu_s(argv: list[str], runs: int) -> float:
    """User + system CPU seconds of the child: steadier than wall time on a shared machine."""
    import resource

    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(samples)


def bench_from(runs: int, dumps: int) -> None:
    import shutil
    import tempfile

    envkit = [sys.executable, "-m", "envkit"]
    page = FIXTURES / "inputs" / "paddle-rfc-quick-install-env-reports.md"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        dump = folder / "node-8gpu.xml"
        dump.write_text(eight_gpu_dump())
        log = folder / "train.log"
        log.write_text(five_thousand_line_log())
        for label, argv in {
            "envkit doctor --from <5,000-line log>": [*envkit, "doctor", "--from", str(log)],
            "envkit doctor --from <pasted page>": [
                *envkit,
                "doctor",
                "--json",
                "--from",
                str(page),
            ],
            "envkit validate --from <8-GPU -q -x>": [
                *envkit,
                "validate",
                "--json",
                "--from",
                str(dump),
            ],
        }.items():
            median_wall_s(argv, 2)
            wall, cpu = median_wall_s(argv, runs), median_cpu_s(argv, runs)
            print(f"{label}: median {wall:.3f} s wall, {cpu:.3f} s CPU over {runs} runs")
        fleet = folder / "dumps"
        fleet.mkdir()
        for number in range(dumps):
            shutil.copy(dump, fleet / f"node{number:04d}.xml")
        out = folder / "reports"
        started = time.perf_counter()
        subprocess.run(
            [*envkit, "validate", "--from", str(fleet), "--output-dir", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        judged = time.perf_counter() - started
        subprocess.run(
            [*envkit, "fleet", "summarize", str(out), "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        total = time.perf_counter() - started
        written = len(list(out.iterdir()))
        print(
            f"envkit validate --from <{dumps} dumps> --output-dir + fleet summarize: "
            f"{total:.1f} s ({judged:.1f} s validate, {written} reports)"
        )


if __name__ == "__main__":
    main()
