"""The README's commands run verbatim: every `bench ...` line parses, and the cheap ones are run."""
import shlex
from pathlib import Path

import numpy as np
import pytest
from conftest import KODAK, need, need_metric

from bench.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """`bench ...` lines of the README's sh blocks, continuations joined, comments dropped."""
    cmds, block, buf = [], False, ""
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            block = line.strip() == "```sh"
            continue
        if not block:
            continue
        buf += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if line.endswith("\\"):
            continue
        cmd = buf.split(" # ")[0].strip() if " # " in buf else buf.strip()
        buf = ""
        if cmd.startswith("bench "):
            cmds.append(cmd)
    return cmds


def test_the_readme_has_commands():
    cmds = readme_commands()
    verbs = {shlex.split(c)[1] for c in cmds}
    assert len(cmds) >= 15
    assert {"run", "table", "plot", "list", "score", "weights", "match", "train"} <= verbs


@pytest.mark.parametrize("cmd", readme_commands())
def test_every_readme_command_parses(cmd):
    args = build_parser().parse_args(shlex.split(cmd)[1:])  # argparse exits (SystemExit) on a stale option
    assert callable(args.fn)


@pytest.mark.parametrize("cmd", [c for c in readme_commands()
                                 if c.startswith(("bench list", "bench weights", "bench score"))])
def test_cheap_readme_commands_run_verbatim(cmd, tmp_path, monkeypatch, astronaut, capsys):
    from PIL import Image

    for m in shlex.split(cmd)[2:]:
        if m in ("lpips", "dists", "niqe"):
            need_metric(m)
    monkeypatch.chdir(tmp_path)
    crop = astronaut[:192, :192]
    Image.fromarray(crop).save("ref.png")
    Image.fromarray(np.ascontiguousarray(crop[:, ::-1])).save("dist.png")
    Image.fromarray(crop).save("img.png")
    assert main(shlex.split(cmd)[1:]) == 0, capsys.readouterr().err


def test_readme_match_command_with_a_dataset_image_name(capsys, monkeypatch):
    need(KODAK, "Kodak images")
    monkeypatch.setenv("BENCH_DATA_DIR", str(KODAK.parent))
    cmd = next(c for c in readme_commands() if c.startswith("bench match"))
    assert "--image kodim05 " in cmd + " " and "--dataset kodak" in cmd
    assert main(shlex.split(cmd)[1:]) == 0
    out = capsys.readouterr().out
    bpp = float(out.split(" gives ")[1].split(" bpp")[0])
    assert abs(bpp - 0.25) < 0.05, out
