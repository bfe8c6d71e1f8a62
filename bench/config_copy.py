"""A copy of a config folder with some values replaced, for the benchmarks and the multi-process tests."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tracker.settings import ConfigError


def copy_config(source: Path, target: Path, changes: dict[str, dict[str, dict[str, object]]]) -> Path:
    """Copy a config folder to `target`, replacing `key = value` lines: {file: {section: {key: value}}}
    (for the benchmarks and the multi-process tests; keeps every comment). Returns `target`."""
    shutil.copytree(source, target)
    for name, sections in changes.items():
        path = target / name
        lines = path.read_text(encoding="utf-8").splitlines()
        section, done = "", set()
        for i, line in enumerate(lines):
            header = re.match(r"^\[([\w.]+)\]", line)
            if header:
                section = header.group(1)
                continue
            key = line.split("=", 1)[0].strip()
            if "=" in line and key in sections.get(section, {}):
                lines[i] = f"{key} = {json.dumps(sections[section][key])}"
                done.add((section, key))
        missing = {(s, k) for s, keys in sections.items() for k in keys} - done
        if missing:
            raise ConfigError(f"{path}: no such keys to replace: {sorted(missing)}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
