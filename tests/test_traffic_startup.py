"""A warm ``iwtui charts show`` (nothing new in the logs) is start-up only: it reads no
YAML for a flat config file, loads neither OpenSSL's hashlib nor the ingest's helper
machinery, and builds the parser of its own commands only (issue 11, warm figure)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import yaml

from iwtui import cli, config

KEYS = ("root", "state_dir", "log_path", "read_only", "tool_sh", "watch", "theme")
VALUES = ("/opt/icewarp", "~/state", "~", "~x", "/a b", "/a#b", "/a: b", "/x/", "/", "true",
          "false", "True", "FALSE", "yes", "no", "on", "null", "2026-01-01", "1", "2.0", "0x1f",
          "'/q'", '"/q"', "/é", "/a\tb", "/tmp/x # note", "[1]", "{a: 1}", "!!str /x", "&a /x")  # fmt: skip
LINES = ("", "# a comment", "  # indented comment", "---", "...", "\t", " ", "%YAML 1.1",
         "root:", "root: /a\n  more: /b", "unknown_key: /x", "true: /x")  # fmt: skip


def _texts(n: int) -> list[str]:
    rng = random.Random(11)
    out = []
    for _ in range(n):
        lines = []
        for _ in range(rng.randrange(0, 6)):
            if rng.random() < 0.25:
                lines.append(rng.choice(LINES))
            else:
                sep = rng.choice((": ", ":  ", ":", ": "))
                lines.append(f"{rng.choice(KEYS)}{sep}{rng.choice(VALUES)}")
        nl = rng.choice(("\n", "\r\n"))
        out.append(rng.choice(("", "\ufeff")) + nl.join(lines) + rng.choice(("", nl)))
    return out


def test_flat_config_reads_as_yaml_does() -> None:
    """Whenever the fast reader answers, YAML gives the same keys and values."""
    answered = 0
    for text in _texts(3000):
        got = config._flat(text)
        if got is None:
            continue
        answered += 1
        assert got == (yaml.safe_load(text) or {}), repr(text)
    assert answered > 300  # the fast path is taken for plain files
    assert config._flat("state_dir: /tmp/s\ntool_sh: false\nwatch: false\n") == {
        "state_dir": "/tmp/s", "tool_sh": False, "watch": False}  # fmt: skip


def test_config_load_same_with_and_without_yaml(tmp_path: Path) -> None:
    text = "# iwtui\nroot: /opt/icewarp\nread_only: true\nstate_dir: ~/st\n"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    fast = config.load({"IWTUI_CONFIG": str(cfg)})
    cfg.write_text(text + "theme: nord\n")  # not a path or a boolean: read by YAML
    slow = config.load({"IWTUI_CONFIG": str(cfg)})
    assert fast.config.root == slow.config.root == "/opt/icewarp"
    assert fast.config.read_only is slow.config.read_only is True
    assert fast.config.state_dir == slow.config.state_dir == "~/st"
    assert fast.origins["root"] == slow.origins["root"] == str(cfg)


def test_parser_of_a_command_builds_its_module_only() -> None:
    parser = cli.build_parser("charts")
    sub = next(a for a in parser._actions if a.dest == "==SUPPRESS==" and a.choices)
    assert set(sub.choices) == {"charts", "stats"}  # type: ignore[arg-type]
    assert "queue" in set(cli.build_parser("*")._actions[-1].choices)  # type: ignore[arg-type]


def test_warm_charts_show_loads_no_yaml_hashlib_or_helpers(sim_root: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"state_dir: {tmp_path / 'state'}\ntool_sh: false\nwatch: false\n")
    argv = ["charts", "show", "--root", str(sim_root), "--service", "smtp", "--category",
            "serverconn", "--json"]  # fmt: skip
    code = (
        "import sys, os\nfrom iwtui.cli import main\n"
        f"sys.stdout = open(os.devnull, 'w')\nrc = main({argv!r})\nsys.stdout = sys.__stdout__\n"
        "print(rc, ','.join(sorted(sys.modules)))"
    )
    env = {**os.environ, "IWTUI_CONFIG": str(cfg), "IWTUI_NO_REPLAY": "1"}  # the full path
    run = [sys.executable, "-c", code]
    subprocess.run(run, env=env, capture_output=True, check=True)  # the cold ingest
    out = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    rc, _, names = out.strip().splitlines()[-1].partition(" ")
    loaded = set(names.split(","))
    assert rc == "0"
    assert "iwtui.icewarp.traffic.query" in loaded
    unwanted = {"yaml", "hashlib", "_hashlib", "subprocess", "queue", "re2", "csv",
                "iwtui.icewarp.logs.names", "iwtui.icewarp.traffic.scan",
                "iwtui.icewarp.traffic.worker", "iwtui.keymap", "iwtui.cli.queue",
                "iwtui.cli.logs"}  # fmt: skip
    assert not unwanted & loaded, sorted(unwanted & loaded)
