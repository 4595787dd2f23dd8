#!/usr/bin/env python3
"""Record what this machine's NVML answers to envkit's probes, for tests/nvml_replay.py.

    python scripts/record_nvml.py h100-sxm-550 --note "8x H100 SXM, driver 550.90.07"

writes tests/fixtures/nvml/<NAME>.json (what ``probe()`` asks, for envkit doctor),
tests/fixtures/nvml/health/<NAME>.json (what ``probe_health()`` asks, for envkit validate) and,
where nvidia-smi exists, <NAME>.nvidia-smi.xml (``nvidia-smi -q -x``) beside the first, a second
reader of the same machine for cross-checks. Review all before committing: serial numbers and
UUIDs identify hardware.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # record with this checkout's envkit, installed or not

from envkit.probes import nvml_record  # noqa: E402 -- needs the path set above


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="fixture name, e.g. h100-sxm-550 (no .json)")
    parser.add_argument("--out-dir", type=Path, default=REPO / "tests" / "fixtures" / "nvml")
    parser.add_argument("--note", help="what machine and state this is, for meta.note")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    target = args.out_dir / f"{args.name}.json"
    recording = nvml_record.record(target, note=args.note)
    print(f"wrote {target}: {len(recording['calls'])} calls, {recording['meta']['probe_result']}")
    health_target = args.out_dir / "health" / f"{args.name}.json"
    health = nvml_record.record_health(health_target, note=args.note)
    print(f"wrote {health_target}: {len(health['calls'])} calls, {health['meta']['probe_result']}")
    smi_xml = _nvidia_smi_xml()
    if smi_xml is not None:
        xml_path = args.out_dir / f"{args.name}.nvidia-smi.xml"
        xml_path.write_text(smi_xml, encoding="utf-8")
        print(f"wrote {xml_path}")
    return 0


def _nvidia_smi_xml() -> str | None:
    executable = shutil.which("nvidia-smi")
    if executable is None:
        print("nvidia-smi not found; no XML cross-check saved", file=sys.stderr)
        return None
    done = subprocess.run(
        [executable, "-q", "-x"], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        print(
            f"nvidia-smi -q -x failed ({done.returncode}): {done.stderr.strip()}", file=sys.stderr
        )
        return None
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
