#!/usr/bin/env python3
"""Checks the artifacts in dist/: every ELF library inside needs at most the given GLIBC version and carries
no .debug_info; every package carries a LICENSE and a README (where its format has one).

    tools/check-dist.py --max-glibc 2.17 dist/

Prints one line per native library and per package; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def members(archive: Path) -> dict[str, bytes]:
    name = archive.name
    if name.endswith((".whl", ".zip", ".jar", ".nupkg", ".snupkg")):
        with zipfile.ZipFile(archive) as z:
            return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    if name.endswith((".tgz", ".tar.gz", ".crate")):
        with tarfile.open(archive) as t:
            out: dict[str, bytes] = {}
            for m in t.getmembers():
                f = t.extractfile(m) if m.isfile() else None
                if f is not None:
                    out[m.name] = f.read()
            return out
    return {}


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def check_elf(data: bytes, label: str, max_glibc: str) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".so") as f:
        f.write(data)
        f.flush()
        dyn = subprocess.run(["objdump", "-T", f.name], capture_output=True, text=True, check=True).stdout
        sections = subprocess.run(["readelf", "-S", "-W", f.name], capture_output=True, text=True, check=True).stdout
    versions = sorted(set(re.findall(r"GLIBC_([0-9.]+)", dyn)), key=version_key)
    newest = versions[-1] if versions else "none"
    debug = ".debug_info" in sections
    symtab = " .symtab " in sections
    problems = []
    if versions and version_key(newest) > version_key(max_glibc):
        problems.append(f"{label}: needs GLIBC_{newest} > {max_glibc}")
    if debug:
        problems.append(f"{label}: carries .debug_info")
    print(f"  {label}: {len(data) / 1e6:.1f} MB, GLIBC max {newest}, .debug_info {'yes' if debug else 'no'}, .symtab {'yes' if symtab else 'no'}")
    return problems


def needs_license(archive: Path) -> bool:
    n = archive.name
    if n.endswith(("-sources.jar", "-javadoc.jar", "-central-bundle.zip", ".snupkg")):
        return False
    return n.endswith((".whl", ".tar.gz", ".tgz", ".jar", ".nupkg", ".crate"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-glibc", default="2.17")
    parser.add_argument("dist", type=Path)
    args = parser.parse_args()
    problems: list[str] = []
    archives = sorted(p for p in args.dist.rglob("*") if p.is_file())
    if not archives:
        print(f"no artifacts in {args.dist}")
        return 1
    for archive in archives:
        content = members(archive)
        print(f"{archive.relative_to(args.dist)} ({archive.stat().st_size / 1e6:.1f} MB, {len(content)} files)")
        for name, data in content.items():
            if data[:4] == ELF_MAGIC:
                problems += check_elf(data, f"{archive.name}!{name}", args.max_glibc)
            elif name.endswith(".zip") or name.endswith(".jar"):
                # jars inside the Central bundle
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    for i in inner.infolist():
                        blob = inner.read(i)
                        if blob[:4] == ELF_MAGIC:
                            problems += check_elf(blob, f"{archive.name}!{name}!{i.filename}", args.max_glibc)
        if needs_license(archive):
            base = {Path(n).name.upper() for n in content}
            licensed = any(b.startswith("LICENSE") for b in base) or any("LICENSE" in n.upper() for n in content)
            if not licensed:
                problems.append(f"{archive.name}: no LICENSE")
            if not archive.name.endswith(".jar") and not any(b.startswith("README") or b == "METADATA" for b in base):
                problems.append(f"{archive.name}: no README")
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"\nall {len(archives)} artifacts pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
