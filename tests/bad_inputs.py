"""The bad-input corpus: files, folders and flags a careful user (or a hostile file) might hand the CLI.

Every case must end in exit status 2 with exactly one line on stderr, no
traceback, the file and field named where there is one, and nothing written
outside the case's ``--out``. The table is data: ``tests/test_bad_inputs.py``
runs it in-process (a few cases through a real subprocess), and
``scripts/probe_bad_inputs.py`` runs it against any checkout in subprocesses
with time and memory limits, to count tracebacks, hangs and silent accepts.

A case runs in a workspace that mirrors the repository (``scenarios/``,
``sweeps/``, ``calibration/`` copied, plus tiny results folders built once),
three folders below the root whose whole tree is compared before and after,
so that a name like ``../../../x`` that escapes its folder is caught.
Placeholders in a case's argv and expectations: ``{ws}`` the workspace,
``{out}`` the case's --out, ``{root}`` the compared root.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    argv: tuple[str, ...]
    expect: tuple[str, ...] = ()           # substrings of the one error line
    setup: tuple[Setup, ...] = ()          # called with the workspace before the command
    subprocess: bool = False               # run through a real process (hangs, memory, signals)
    out: str = "{ws}/out"                  # where the command may write
    needs: tuple[str, ...] = ()            # prebuilt results folders the case copies into ws/results
    unless_root: bool = False              # permission cases that root bypasses

    def fill(self, text: str, ws: Path) -> str:
        return fill(text.replace("{out}", self.out), ws)


def fill(text: str, ws: Path) -> str:
    """The placeholders {ws} and {root} filled in (other braces are YAML's)."""
    return text.replace("{ws}", str(ws)).replace("{root}", str(ws.parents[2]))


# ---------------------------------------------------------------- the inputs cases start from

TINY_SWEEP = """\
name: tiny
scenario: ../scenarios/baseline.yaml
parameters:
  - {path: coefficients.trade_diversion, range: [0.0, 0.3]}
  - {path: states.russia.trust.china, values: [0.4, 0.6]}
design: {method: grid, levels: 2}
replicates: 2
seed: 7
chunk_runs: 4
outputs:
  - {name: trade_2014, column: trade.china.russia, stat: mean, year: 2014}
  - {name: events, column: events.total, stat: sum}
"""

TINY_SOBOL = """\
name: tiny_sobol
scenario: ../scenarios/baseline.yaml
parameters:
  - {path: coefficients.trade_diversion, range: [0.0, 0.3]}
  - {path: states.russia.trust.china, range: [0.4, 0.6]}
design: {method: sobol, samples: 4}
replicates: 1
seed: 7
chunk_runs: 8
outputs:
  - {name: trade_2014, column: trade.china.russia, stat: mean, year: 2014}
  - {name: events, column: events.total, stat: sum}
"""

TINY_CAL = """\
name: tiny
scenario: ../scenarios/baseline.yaml
parameters:
  - {path: coefficients.trade_trust_effect, dist: uniform, low: 0.0, high: 0.8}
  - {path: events.visit.rate, dist: loguniform, low: 0.2, high: 3.0}
targets: {series: true, events: true}
split: {calibrate_until: 2012-12}
budget: {particles: 10, generations: 2, quantile: 0.5, initial_factor: 2, max_simulations: 200, replicates: 1}
seed: 3
chunk_runs: 50
"""

# Prebuilt results folders: name -> argv that writes it into {ws}/results/<name>.
TEMPLATES = {
    "grid": ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{ws}/results/grid", "--workers", "1", "--quiet"),
    "sobol": ("sweep", "{ws}/sweeps/tiny_sobol.yaml", "--out", "{ws}/results/sobol", "--workers", "1", "--quiet"),
    "calib": ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{ws}/results/calib", "--workers", "1",
              "--no-evaluate"),
    "run": ("run", "{ws}/scenarios/baseline.yaml", "--replicates", "2", "--no-plots", "--no-compare",
            "--out", "{ws}/results/run"),
}


def make_workspace(root: Path) -> Path:
    """root/a/b/c/ws with the repository's inputs and the tiny sweep and calibration files; cwd is ws/work."""
    ws = root / "a" / "b" / "c" / "ws"
    ws.mkdir(parents=True)
    for name in ("scenarios", "sweeps"):
        shutil.copytree(ROOT / name, ws / name)
    (ws / "calibration").mkdir()
    shutil.copytree(ROOT / "calibration" / "record", ws / "calibration" / "record")
    for f in ("aliases.yaml", "full.yaml", "hindcast_2012.yaml"):
        shutil.copy(ROOT / "calibration" / f, ws / "calibration" / f)
    (ws / "sweeps" / "tiny.yaml").write_text(TINY_SWEEP)
    (ws / "sweeps" / "tiny_sobol.yaml").write_text(TINY_SOBOL)
    (ws / "calibration" / "tiny.yaml").write_text(TINY_CAL)
    for d in ("in", "work", "results"):
        (ws / d).mkdir()
    return ws


# ---------------------------------------------------------------- setups

def write(rel: str, content: str | bytes) -> Setup:
    def do(ws: Path) -> None:
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        text = fill(content, ws) if isinstance(content, str) else content
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return do


def edited(src: str, rel: str, *pairs: tuple[str, str]) -> Setup:
    """Copy the workspace file ``src`` to ``rel``, replacing the first occurrence of each old text."""
    def do(ws: Path) -> None:
        text = (ws / src).read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, f"corpus setup: {old!r} not in {src}"
            text = text.replace(old, fill(new, ws), 1)
        (ws / rel).write_bytes(text.encode("utf-8", "surrogateescape"))
    return do


def fifo(rel: str) -> Setup:
    def do(ws: Path) -> None:
        os.mkfifo(ws / rel)
    return do


def symlink(rel: str, target: str) -> Setup:
    def do(ws: Path) -> None:
        os.symlink(fill(target, ws), ws / rel)
    return do


def mkdir(rel: str) -> Setup:
    def do(ws: Path) -> None:
        (ws / rel).mkdir(parents=True, exist_ok=True)
    return do


def big(rel: str, megabytes: int, line: str = "# padding\n") -> Setup:
    def do(ws: Path) -> None:
        with open(ws / rel, "w") as fh:
            fh.write(line * (megabytes * 2**20 // len(line) + 1))
    return do


def readonly(rel: str) -> Setup:
    def do(ws: Path) -> None:
        (ws / rel).mkdir(parents=True, exist_ok=True)
        os.chmod(ws / rel, 0o555)
    return do


def parquet(rel: str, columns: dict) -> Setup:
    def do(ws: Path) -> None:
        import pandas as pd
        pd.DataFrame(columns).to_parquet(ws / rel, index=False)
    return do


def truncate(rel: str, keep: float = 0.5) -> Setup:
    def do(ws: Path) -> None:
        p = ws / rel
        data = p.read_bytes()
        p.write_bytes(data[: int(len(data) * keep)])
    return do


def copy(src: str, dst: str) -> Setup:
    def do(ws: Path) -> None:
        shutil.copy(ws / src, ws / dst)
    return do


def remove(rel: str) -> Setup:
    def do(ws: Path) -> None:
        p = ws / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return do


def table_edit(rel: str, how: str) -> Setup:
    """Rewrite a Parquet table: drop rows, blank a column, drop a column, or put NaN in a column."""
    def do(ws: Path) -> None:
        import numpy as np
        import pandas as pd
        p = ws / rel
        df = pd.read_parquet(p)
        op, _, col = how.partition(":")
        if op == "drop_rows":
            df = df.iloc[1:]
        elif op == "nan":
            df[col] = np.nan
        elif op == "drop_col":
            df = df.drop(columns=[col])
        elif op == "first_nan":
            df.loc[df.index[0], col] = np.nan
        df.to_parquet(p, index=False)
    return do


def json_edit(rel: str, how: Callable[[object], object]) -> Setup:
    def do(ws: Path) -> None:
        p = ws / rel
        p.write_text(json.dumps(how(json.loads(p.read_text()))))
    return do


def drop_key(*keys: str) -> Callable[[dict], dict]:
    def do(d: dict) -> dict:
        node = d
        for k in keys[:-1]:
            node = node[k]
        node.pop(keys[-1], None)       # absent already (a checkout that never wrote it): the same case
        return d
    return do


def set_key(key: str, value) -> Callable[[dict], dict]:
    def do(d: dict) -> dict:
        d[key] = value
        return d
    return do


# ---------------------------------------------------------------- texts

def alias_bomb(levels: int, width: int) -> str:
    """The billion-laughs document: each level lists the previous one ``width`` times."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


BOMB = alias_bomb(9, 9)           # ~480 bytes, 9**8 strings when expanded
BOMB6 = alias_bomb(6, 12)         # ~420 bytes, 12**5 strings
DEEP = "meta: " + "[" * 5000 + "]" * 5000 + "\n"


# ---------------------------------------------------------------- case builders

SC = "scenarios/bad.yaml"
RUN = ("run", "{ws}/" + SC, "--replicates", "2", "--no-plots", "--no-compare", "--out", "{out}")
SWEEP = ("sweep", "{ws}/sweeps/bad.yaml", "--out", "{out}", "--workers", "1", "--quiet")
CAL = ("calibrate", "{ws}/calibration/bad.yaml", "--out", "{out}", "--workers", "1", "--no-evaluate")
CHRON = ("import-chronology",)


def scen(id: str, cat: str, old: str, new: str, *expect: str, argv: tuple = RUN, line: bool = True) -> Case:
    """A copy of the baseline with one text replaced, run (or another command) on it."""
    return Case(id, cat, argv, (("bad.yaml:" if line else "bad.yaml"),) + expect,
                (edited("scenarios/baseline.yaml", SC, (old, new)),))


def child(id: str, cat: str, body: str, *expect: str, argv: tuple = RUN) -> Case:
    """A scenario that extends the baseline with ``body`` (YAML) below its meta."""
    text = "extends: baseline.yaml\nmeta: {name: bad, description: a child}\n" + body
    return Case(id, cat, argv, ("bad.yaml:",) + expect, (write(SC, text),))


def whole(id: str, cat: str, text: str | bytes, *expect: str, argv: tuple = RUN, sub: bool = False) -> Case:
    return Case(id, cat, argv, expect, (write(SC, text),), subprocess=sub)


def swp(id: str, cat: str, old: str, new: str, *expect: str, argv: tuple = SWEEP) -> Case:
    return Case(id, cat, argv, ("bad.yaml",) + expect, (edited("sweeps/tiny.yaml", "sweeps/bad.yaml", (old, new)),))


def cal(id: str, cat: str, old: str, new: str, *expect: str, argv: tuple = CAL) -> Case:
    return Case(id, cat, argv, ("bad.yaml",) + expect,
                (edited("calibration/tiny.yaml", "calibration/bad.yaml", (old, new)),))


def flag(id: str, argv: tuple, *expect: str, setup: tuple = (), needs: tuple = (), cat: str = "flags",
         out: str = "{ws}/out", unless_root: bool = False) -> Case:
    return Case(id, cat, argv, expect, setup, needs=needs, out=out, unless_root=unless_root)


def folder(id: str, cat: str, need: str, setup: tuple, argv: tuple, *expect: str) -> Case:
    return Case(id, cat, argv, expect, setup, needs=(need,), out="{ws}/results/" + need)


# ---------------------------------------------------------------- the cases

GDP = "gdp: {value: 1211,"
TRUST = 'russia: {value: 0.6, assumption: "strategic'
OIL = "{date: 2000-01, value: 26,"
PIPE = "{target: states.russia.exports.china, op: add, value: 11.0,"
DIV = "trade_diversion: {value: 0.1,"
SEED = "  seed: 20000101"
BRICS_DATES = "dates: [2009-06,"


def _timeline_length() -> int:
    import yaml
    return len(yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text(encoding="utf-8"))["timeline"])


APPENDED = f"timeline[{_timeline_length()}]"   # the entry a child's timeline_append adds after the baseline's


def _effect(target: str, op: str, value: str, extra: str = "") -> str:
    return ("timeline_append:\n  - id: bad_effect\n    date: 2005-01\n    description: a bad effect\n"
            "    assumption: corpus\n    effects:\n"
            f"      - {{target: {target}, op: {op}, value: {value}{extra}, assumption: corpus}}\n")


YAML_CASES = [
    whole("alias_bomb", "yaml", BOMB, "bad.yaml:", "alias", sub=True),
    whole("alias_bomb_6_levels", "yaml", BOMB6, "bad.yaml:", "alias", sub=True),
    Case("alias_bomb_in_parent", "yaml", RUN, ("bomb.yaml:", "alias"),
         (write("scenarios/bomb.yaml", BOMB), write(SC, "extends: bomb.yaml\n"))),
    whole("nested_brackets_5000", "yaml", DEEP, "bad.yaml:1", "nest"),
    whole("nested_braces_5000", "yaml", "meta: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", "bad.yaml:1", "nest"),
    whole("nested_blocks_200", "yaml", "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n",
          "bad.yaml:", "nest"),
    scen("control_byte_raw", "yaml", "description: China–Russia", "description: China\x01Russia", "control"),
    scen("nul_byte", "yaml", "description: China–Russia", "description: China\x00Russia", "control"),
    scen("escape_sequence_in_text", "yaml", "description: China–Russia relations 2000–2017 with the shocks and "
         "scheduled events the documents record.", 'description: "\\e[2J\\x07China"',
         "meta.description", "control"),
    whole("not_utf8", "yaml", b"meta:\n  name: \xff\xfe\n", "bad.yaml", "UTF-8"),
    whole("empty_file", "yaml", "", "bad.yaml", "meta"),
    whole("top_level_list", "yaml", "- a\n- b\n", "bad.yaml:1", "mapping"),
    whole("top_level_scalar", "yaml", "hello\n", "bad.yaml:1", "mapping"),
    whole("python_tag", "yaml", "meta: !!python/object/apply:os.system ['echo hi']\n", "bad.yaml:1", "tag"),
    whole("custom_tag", "yaml", "meta: !custom {a: 1}\n", "bad.yaml:1", "tag"),
    whole("binary_tag", "yaml", "meta: !!binary aGVsbG8=\n", "bad.yaml:1", "meta"),
    scen("duplicate_key", "yaml", "  name: baseline\n", "  name: baseline\n  name: again\n", "duplicate"),
    scen("tab_indent", "yaml", "  name: baseline\n", "\tname: baseline\n", "tab"),
    scen("unterminated_quote", "yaml", "description: China–Russia", 'description: "China–Russia', "malformed"),
    whole("two_documents", "yaml", "meta: {}\n---\nmeta: {}\n", "bad.yaml:", "single document"),
    Case("huge_file", "yaml", RUN, ("bad.yaml", "MiB"), (big(SC, 5),)),
    whole("key_is_list", "yaml", "? [a, b]\n: 1\n", "bad.yaml:1", "key"),
    scen("start_feb_30", "dates", "  start: 2000-01", "  start: 2000-02-30", "meta.start"),
    scen("start_feb_30_quoted", "dates", "  start: 2000-01", '  start: "2000-02-30"', "meta.start"),
    scen("month_13", "dates", "  start: 2000-01", "  start: 2000-13", "meta.start"),
    scen("month_00", "dates", "  start: 2000-01", "  start: 2000-00", "meta.start"),
    scen("start_bare_year", "dates", "  start: 2000-01", "  start: 2000", "meta.start"),
    scen("end_9999_12", "dates", "  end: 2017-12", "  end: 9999-12", "meta.end"),
    scen("end_five_digit_year", "dates", "  end: 2017-12", "  end: 20170-12", "meta.end"),
    scen("period_of_centuries", "dates", "  start: 2000-01", "  start: 0001-01", "meta"),
    scen("end_before_start", "dates", "  end: 2017-12", "  end: 1999-12", "meta"),
    scen("timeline_date_outside", "dates", "date: 2000-07", "date: 2030-07", "timeline[0].date"),
    scen("calendar_date_outside", "dates", BRICS_DATES, "dates: [2039-06,", "organisations.brics.summits[0].dates[0]"),
    scen("calendar_date_feb_30", "dates", BRICS_DATES, "dates: [2009-02-30,", "organisations.brics.summits[0]"),
]

NUMBER_CASES = [
    scen("nan_trust", "numbers", TRUST, 'russia: {value: .nan, assumption: "strategic', "states.china.trust.russia"),
    scen("inf_gdp", "numbers", GDP, "gdp: {value: .inf,", "states.china.gdp"),
    scen("neg_inf_growth", "numbers", "growth: {value: 0.17,", "growth: {value: -.inf,", "states.china.growth"),
    scen("nan_oil_point", "numbers", OIL, "{date: 2000-01, value: .nan,", "drivers.oil_price.points[0].value"),
    scen("inf_oil_point", "numbers", OIL, "{date: 2000-01, value: .inf,", "drivers.oil_price.points[0].value"),
    scen("yes_gdp", "numbers", GDP, "gdp: {value: yes,", "states.china.gdp"),
    scen("true_exports", "numbers", "russia: {value: 1.76,", "russia: {value: true,", "states.china.exports.russia"),
    scen("no_coefficient", "numbers", DIV, "trade_diversion: {value: no,", "coefficients.trade_diversion"),
    scen("on_probability", "numbers", "probability: 0.9", "probability: on", "calendar[0].probability"),
    scen("yes_seed", "numbers", SEED, "  seed: yes", "meta.seed"),
    scen("true_replicates", "numbers", "  replicates: 50", "  replicates: true", "meta.replicates"),
    scen("nan_seed", "numbers", SEED, "  seed: .nan", "meta.seed"),
    scen("fractional_seed", "numbers", SEED, "  seed: 1.5", "meta.seed"),
    scen("negative_seed", "numbers", SEED, "  seed: -1", "meta.seed"),
    scen("seed_2_70", "numbers", SEED, "  seed: 1180591620717411303424", "meta.seed"),
    scen("replicates_zero", "numbers", "  replicates: 50", "  replicates: 0", "meta.replicates"),
    scen("gdp_1e308", "numbers", GDP, "gdp: {value: 1e308,", "states.china.gdp"),
    scen("gdp_1e999", "numbers", GDP, "gdp: {value: 1e999,", "states.china.gdp"),
    scen("gdp_negative", "numbers", GDP, "gdp: {value: -5,", "states.china.gdp"),
    scen("exports_1e300", "numbers", "russia: {value: 1.76,", "russia: {value: 1e300,", "states.china.exports.russia"),
    scen("growth_5000_percent", "numbers", "growth: {value: 0.17,", "growth: {value: 50,", "states.china.growth"),
    scen("growth_minus_200_percent", "numbers", "growth: {value: 0.17,", "growth: {value: -2,",
         "states.china.growth"),
    scen("oil_point_negative", "numbers", OIL, "{date: 2000-01, value: -26,", "drivers.oil_price.points[0].value"),
    scen("oil_point_zero", "numbers", OIL, "{date: 2000-01, value: 0,", "drivers.oil_price.points[0].value"),
    scen("effect_value_nan", "numbers", PIPE, "{target: states.russia.exports.china, op: add, value: .nan,",
         "timeline[6].effects[0].value"),
    scen("effect_value_inf", "numbers", PIPE, "{target: states.russia.exports.china, op: add, value: .inf,",
         "timeline[6].effects[0].value"),
    scen("effect_value_yes", "numbers", PIPE, "{target: states.russia.exports.china, op: add, value: yes,",
         "timeline[6].effects[0].value"),
    child("effect_sets_oil_negative", "numbers", _effect("drivers.oil_price", "set", "-10"), APPENDED),
    child("effect_multiplies_oil_negative", "numbers", _effect("drivers.oil_price", "multiply", "-1"),
          APPENDED),
    child("effect_adds_oil_below_zero", "numbers", _effect("drivers.oil_price", "add", "-200", ", duration: 6"),
          APPENDED),
    child("effect_growth_minus_20", "numbers", _effect("states.russia.growth", "set", "-20"), APPENDED),
    child("effect_rate_negative", "numbers", _effect("events.visit.rate", "add", "-5"), APPENDED),
    child("effect_trust_set_5", "numbers", _effect("states.china.trust.russia", "set", "5"), APPENDED),
    child("effect_gdp_set_negative", "numbers", _effect("states.china.gdp", "set", "-100"), APPENDED),
    child("effect_gdp_times_1e308", "numbers", _effect("states.china.gdp", "multiply", "1e308"), APPENDED),
    child("effect_share_above_one", "numbers", _effect("states.russia.energy_export_share", "add", "5"),
          APPENDED),
    child("effect_exports_multiply_negative", "numbers", _effect("states.russia.exports.china", "multiply", "-3"),
          APPENDED),
    scen("sanction_intensity_2", "numbers", "intensity: 0.5", "intensity: 2", "timeline[12].sanctions[0].intensity"),
    scen("effect_duration_zero", "numbers", "value: 0.1, duration: 24,", "value: 0.1, duration: 0,",
         "timeline[0].effects[0].duration"),
    scen("coefficient_nan", "numbers", "trade_noise: {value: 0.08,", "trade_noise: {value: .nan,",
         "coefficients.trade_noise"),
    scen("calendar_every_zero", "numbers", "months: [7], probability: 0.9", "months: [7], every: 0, probability: 0.9",
         "calendar[0].every"),
    scen("calendar_month_13", "numbers", "months: [7], probability: 0.9", "months: [13], probability: 0.9",
         "calendar[0].months"),
    scen("event_rate_negative", "numbers", "visit: {rate: {value: 1.1,", "visit: {rate: {value: -1.1,",
         "events.visit.rate"),
]

REFERENCE_CASES = [
    child("effect_on_exports_that_do_not_exist", "references",
          _effect("states.russia.exports.brazil", "add", "1"), APPENDED + ".effects[0].target", "exports"),
    child("effect_on_every_states_exports", "references", _effect("'states.*.exports.china'", "add", "1"),
          APPENDED + ".effects[0].target"),
    child("effect_on_untracked_trust", "references", _effect("states.brazil.trust.armenia", "add", "0.1"),
          APPENDED + ".effects[0].target"),
    child("effect_on_unknown_state", "references", _effect("states.atlantis.growth", "add", "0.1"),
          APPENDED + ".effects[0].target"),
    child("effect_on_unknown_driver", "references", _effect("drivers.gas_price", "add", "1"),
          APPENDED + ".effects[0].target"),
    child("effect_on_unknown_org", "references", _effect("states.china.alignment.nato", "add", "0.1"),
          APPENDED + ".effects[0].target"),
    scen("focal_unknown", "references", "focal: [china, russia]", "focal: [china, atlantis]", "meta.focal"),
    scen("emit_unknown_actor", "references", "actors: [china, russia]}", "actors: [china, atlantis]}",
         "timeline[0].emits[0].actors[1]"),
    child("timeline_remove_unknown", "references", "timeline_remove: [no_such_entry]\n", "timeline_remove[0]"),
    scen("sanction_unknown_state", "references", "against: [russia]", "against: [atlantis]",
         "timeline[12].sanctions[0].against[0]"),
    scen("member_unknown_state", "references", "{state: china, joined: 1996-04,", "{state: atlantis, joined: 1996-04,",
         "organisations.sco.members[0].state"),
    scen("duplicate_timeline_id", "references", "  - id: treaty_2001", "  - id: us_nmd_2000", "timeline[1].id"),
    Case("extends_dev_zero", "extends", RUN, ("bad.yaml:1", "extends"),
         (write(SC, "extends: /dev/zero\n"),)),
    Case("extends_fifo", "extends", RUN, ("bad.yaml:1", "extends", "regular file"),
         (fifo("scenarios/pipe.yaml"), write(SC, "extends: pipe.yaml\n")), subprocess=True),
    Case("extends_directory", "extends", RUN, ("bad.yaml:1", "extends"),
         (mkdir("scenarios/dir.yaml"), write(SC, "extends: dir.yaml\n"))),
    Case("extends_system_file", "extends", RUN, ("bad.yaml:1", "extends", ".yaml"),
         (write(SC, "extends: /etc/passwd\n"),)),
    Case("extends_symlink_to_dev_zero", "extends", RUN, ("bad.yaml:1", "extends"),
         (symlink("scenarios/zero.yaml", "/dev/zero"), write(SC, "extends: zero.yaml\n"))),
    Case("extends_number", "extends", RUN, ("bad.yaml:1", "extends"), (write(SC, "extends: 5\n"),)),
    Case("extends_missing", "extends", RUN, ("bad.yaml:1", "extends", "not found"),
         (write(SC, "extends: nothere.yaml\n"),)),
    Case("extends_itself", "extends", RUN, ("bad.yaml", "cycle"), (write(SC, "extends: bad.yaml\n"),)),
    Case("extends_cycle", "extends", RUN, ("cycle",),
         (write(SC, "extends: other.yaml\n"), write("scenarios/other.yaml", "extends: bad.yaml\n"))),
    Case("extends_huge_file", "extends", RUN, ("big.yaml", "MiB"),
         (big("scenarios/big.yaml", 5), write(SC, "extends: big.yaml\n"))),
    Case("extends_chain_of_40", "extends", RUN, ("extends", "deep"),
         tuple(write(f"scenarios/c{i}.yaml", f"extends: c{i + 1}.yaml\n") for i in range(40))
         + (write("scenarios/c40.yaml", "extends: baseline.yaml\n"), write(SC, "extends: c0.yaml\n"))),
]

NAME_CASES = [
    scen("name_dot_dot", "containment", "  name: baseline\n", "  name: ../../../x\n", "meta.name"),
    scen("name_absolute", "containment", "  name: baseline\n", "  name: {root}/abs_escape\n", "meta.name"),
    scen("name_slash", "containment", "  name: baseline\n", "  name: a/b\n", "meta.name"),
    scen("name_dot", "containment", "  name: baseline\n", "  name: .\n", "meta.name"),
    scen("name_empty", "containment", "  name: baseline\n", "  name: ''\n", "meta.name"),
    scen("name_bell", "containment", "  name: baseline\n", '  name: "a\\ab"\n', "meta.name"),
    scen("name_300_chars", "containment", "  name: baseline\n", "  name: " + "x" * 300 + "\n", "meta.name"),
    scen("name_escape_default_out", "containment", "  name: baseline\n", "  name: ../../../x\n", "meta.name",
         argv=("run", "{ws}/" + SC, "--replicates", "2", "--no-plots", "--no-compare")),
    scen("compare_name_escape", "containment", "  name: baseline\n", "  name: ../../../x\n", "meta.name",
         argv=("compare", "{ws}/" + SC, "--replicates", "2", "--out", "{out}")),
    scen("plot_name_escape", "containment", "  name: baseline\n", "  name: ../../../x\n", "meta.name",
         argv=("plot", "{ws}/" + SC, "--replicates", "2")),
    scen("report_name_escape", "containment", "  name: baseline\n", "  name: ../../../x\n", "meta.name",
         argv=("report", "{ws}/" + SC, "--replicates", "2")),
    cal("calibration_name_dot_dot", "containment", "name: tiny", "name: ../../../x", "name",
        argv=("calibrate", "{ws}/calibration/bad.yaml", "--workers", "1", "--no-evaluate")),
    cal("calibration_name_absolute", "containment", "name: tiny", "name: {root}/abs_escape", "name"),
    swp("sweep_name_dot_dot", "containment", "name: tiny", "name: ../../../x", "name",
        argv=("sweep", "{ws}/sweeps/bad.yaml", "--workers", "1", "--quiet")),
    flag("manifest_scenario_escape", ("compare", "{ws}/results/run", "--out", "{out}"), "manifest.json", "scenario",
         setup=(json_edit("results/run/manifest.json", set_key("scenario", "../../../../evil")),), needs=("run",),
         cat="containment"),
    flag("manifest_scenario_absolute", ("compare", "{ws}/results/run", "--out", "{out}"), "manifest.json",
         setup=(json_edit("results/run/manifest.json", set_key("scenario", "/tmp/evil")),), needs=("run",),
         cat="containment"),
    flag("manifest_record_elsewhere", ("compare", "{ws}/results/run", "--out", "{out}"), "/etc",
         setup=(json_edit("results/run/manifest.json", set_key("record", "/etc")),), needs=("run",),
         cat="containment"),
]

S = ("run", "{ws}/scenarios/baseline.yaml", "--replicates", "2", "--no-plots", "--no-compare", "--out", "{out}")
SET_CASES = [
    flag("set_nan", S + ("--set", "coefficients.trade_diversion=.nan"), "coefficients.trade_diversion", cat="set"),
    flag("set_inf", S + ("--set", "states.china.gdp=.inf"), "states.china.gdp", cat="set"),
    flag("set_yes", S + ("--set", "states.china.gdp=yes"), "states.china.gdp", cat="set"),
    flag("set_list", S + ("--set", "states.china.gdp=[1, 2]"), "states.china.gdp", cat="set"),
    flag("set_alias_bomb", S + ("--set", "states.china.gdp=" + BOMB.replace("\n", ", ").join("{}")), "--set",
         cat="set"),
    flag("set_without_equals", S + ("--set", "states.china.gdp"), "--set", cat="set"),
    flag("set_unknown_path", S + ("--set", "states.china.gpd=5"), "states.china.gpd", cat="set"),
    flag("set_end_9999", S + ("--set", "meta.end=9999-12"), "meta.end", cat="set"),
    flag("set_start_feb_30", S + ("--set", "meta.start=2000-02-30"), "meta.start", cat="set"),
    flag("set_control_bytes", S + ("--set", "meta.description=\x1b[2Jgone"), "meta.description", cat="set"),
    flag("set_negative_seed", S + ("--set", "meta.seed=-1"), "meta.seed", cat="set"),
    flag("set_path_with_slash", S + ("--set", "a/b=1"), "--set", cat="set"),
    flag("set_deep_nesting", S + ("--set", "states.china.gdp=" + "[" * 3000 + "]" * 3000), "--set", cat="set"),
    flag("set_gdp_1e308", S + ("--set", "states.china.gdp=1e308"), "states.china.gdp", cat="set"),
    flag("set_name_escape", S + ("--set", "meta.name=../../x"), "meta.name", cat="set"),
    flag("set_oil_point_negative", S + ("--set", "drivers.oil_price.points.0.value=-26"),
         "drivers.oil_price.points[0].value", cat="set"),
]

POST = "  record: ../calibration/record\n"
POSTERIOR_CASES = [
    Case("posterior_text_file", "posterior", RUN, ("bad.yaml", "meta.posterior", "Parquet"),
         (write("scenarios/post.parquet", "not parquet\n"),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_missing", "posterior", RUN, ("bad.yaml", "meta.posterior"),
         (edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: nothere.parquet\n")),)),
    Case("posterior_fifo", "posterior", RUN, ("bad.yaml", "meta.posterior"),
         (fifo("scenarios/post.parquet"),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n"))), subprocess=True),
    Case("posterior_directory", "posterior", RUN, ("bad.yaml", "meta.posterior"),
         (mkdir("scenarios/post.parquet"),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_unknown_column", "posterior", RUN, ("bad.yaml", "meta.posterior", "coefficients.nope"),
         (parquet("scenarios/post.parquet", {"coefficients.nope": [0.1, 0.2], "weight": [0.5, 0.5]}),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_nan_weight", "posterior", RUN, ("bad.yaml", "meta.posterior", "weight"),
         (parquet("scenarios/post.parquet", {"coefficients.trade_diversion": [0.1, 0.2], "weight": [float("nan"), 1]}),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_negative_weight", "posterior", RUN, ("bad.yaml", "meta.posterior", "weight"),
         (parquet("scenarios/post.parquet", {"coefficients.trade_diversion": [0.1, 0.2], "weight": [-1.0, 2.0]}),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_no_rows", "posterior", RUN, ("bad.yaml", "meta.posterior"),
         (parquet("scenarios/post.parquet", {"coefficients.trade_diversion": [], "weight": []}),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_text_values", "posterior", RUN, ("bad.yaml", "meta.posterior", "coefficients.trade_diversion"),
         (parquet("scenarios/post.parquet", {"coefficients.trade_diversion": ["a", "b"], "weight": [0.5, 0.5]}),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
    Case("posterior_truncated", "posterior", RUN, ("bad.yaml", "meta.posterior"),
         (copy("scenarios/baseline_calibrated.posterior.parquet", "scenarios/post.parquet"),
          truncate("scenarios/post.parquet"),
          edited("scenarios/baseline.yaml", SC, (POST, POST + "  posterior: post.parquet\n")))),
]

RANGE = "range: [0.0, 0.3]"
SWEEP_CASES = [
    swp("sweep_values_nan", "sweep", "values: [0.4, 0.6]", "values: [.nan, 0.6]", "parameters[1].values"),
    swp("sweep_range_inf", "sweep", RANGE, "range: [0.0, .inf]", "parameters[0].range"),
    swp("sweep_range_nan", "sweep", RANGE, "range: [.nan, 0.3]", "parameters[0].range"),
    swp("sweep_range_reversed", "sweep", RANGE, "range: [0.3, 0.0]", "parameters[0].range"),
    swp("sweep_values_yes", "sweep", "values: [0.4, 0.6]", "values: [yes, 0.6]", "parameters[1].values"),
    swp("sweep_levels_huge", "sweep", "levels: 2", "levels: 1000000000", "design"),
    swp("sweep_points_huge", "sweep", "{method: grid, levels: 2}", "{method: random, points: 1000000000000}",
        "design"),
    swp("sweep_replicates_huge", "sweep", "replicates: 2", "replicates: 1000000000", "replicates"),
    swp("sweep_replicates_bool", "sweep", "replicates: 2", "replicates: yes", "replicates"),
    swp("sweep_sobol_not_power_of_two", "sweep", "{method: grid, levels: 2}", "{method: sobol, samples: 6}",
        "design.samples"),
    swp("sweep_design_string", "sweep", "{method: grid, levels: 2}", "grid", "design"),
    swp("sweep_unknown_method", "sweep", "{method: grid, levels: 2}", "{method: magic}", "design"),
    swp("sweep_scenario_missing", "sweep", "../scenarios/baseline.yaml", "../scenarios/nothere.yaml", "scenario"),
    Case("sweep_scenario_dev_zero", "sweep", SWEEP, ("bad.yaml", "scenario"),
         (edited("sweeps/tiny.yaml", "sweeps/bad.yaml", ("../scenarios/baseline.yaml", "/dev/zero")),)),
    Case("sweep_scenario_fifo", "sweep", SWEEP, ("bad.yaml", "scenario"),
         (fifo("scenarios/pipe.yaml"),
          edited("sweeps/tiny.yaml", "sweeps/bad.yaml", ("../scenarios/baseline.yaml", "../scenarios/pipe.yaml"))),
         subprocess=True),
    Case("sweep_scenario_has_nan", "sweep", SWEEP, ("bad.yaml:", "states.china.gdp"),
         (edited("scenarios/baseline.yaml", SC, (GDP, "gdp: {value: .nan,")),
          edited("sweeps/tiny.yaml", "sweeps/bad.yaml", ("../scenarios/baseline.yaml", "../" + SC)))),
    swp("sweep_unknown_parameter", "sweep", "coefficients.trade_diversion", "coefficients.trade_divrsion",
        "parameters[0].path"),
    swp("sweep_value_scenario_rejects", "sweep", "values: [0.4, 0.6]", "values: [0.4, 1.6]",
        "parameters[1].values[1]"),
    swp("sweep_unknown_output_column", "sweep", "column: events.total", "column: events.totl", "outputs[1].column"),
    swp("sweep_output_year_outside", "sweep", "year: 2014", "year: 2044", "outputs[0].year"),
    swp("sweep_output_year_huge", "sweep", "year: 2014", "year: 100000000000000000000", "outputs[0].year"),
    swp("sweep_output_start_feb_30", "sweep", "year: 2014", "start: 2014-02-30", "outputs[0].start"),
    swp("sweep_chunk_runs_zero", "sweep", "chunk_runs: 4", "chunk_runs: 0", "chunk_runs"),
    swp("sweep_negative_seed", "sweep", "seed: 7", "seed: -1", "seed"),
    swp("sweep_seed_2_70", "sweep", "seed: 7", "seed: 1180591620717411303424", "seed"),
    swp("sweep_name_with_control", "sweep", "name: tiny", 'name: "ti\\x1bny"', "name"),
    Case("sweep_alias_bomb", "sweep", SWEEP, ("bad.yaml:", "alias"), (write("sweeps/bad.yaml", BOMB),),
         subprocess=True),
    Case("sweep_is_directory", "sweep", SWEEP, ("bad.yaml",), (mkdir("sweeps/bad.yaml"),)),
    Case("sweep_workers_100000", "sweep", ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{out}", "--workers", "100000",
                                           "--quiet"), ("--workers",)),
    Case("sweep_replicates_flag_huge", "sweep", ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{out}", "--workers",
                                                 "1", "--replicates", "1000000000", "--quiet"), ("replicates",)),
]

PRIOR = "{path: coefficients.trade_trust_effect, dist: uniform, low: 0.0, high: 0.8}"
CAL_CASES = [
    cal("calibration_prior_low_nan", "calibration", PRIOR,
        "{path: coefficients.trade_trust_effect, dist: uniform, low: .nan, high: 0.8}", "parameters[0]"),
    cal("calibration_prior_high_inf", "calibration", PRIOR,
        "{path: coefficients.trade_trust_effect, dist: uniform, low: 0.0, high: .inf}", "parameters[0]"),
    cal("calibration_prior_sd_zero", "calibration", PRIOR,
        "{path: coefficients.trade_trust_effect, dist: normal, mean: 0.3, sd: 0}", "parameters[0].sd"),
    cal("calibration_prior_mean_yes", "calibration", PRIOR,
        "{path: coefficients.trade_trust_effect, dist: normal, mean: yes, sd: 0.1}", "parameters[0].mean"),
    cal("calibration_prior_unknown_dist", "calibration", PRIOR,
        "{path: coefficients.trade_trust_effect, dist: cauchy, low: 0.0, high: 0.8}", "parameters[0].dist"),
    cal("calibration_loguniform_from_zero", "calibration", "low: 0.2, high: 3.0", "low: 0.0, high: 3.0",
        "parameters[1]"),
    cal("calibration_prior_unknown_path", "calibration", "coefficients.trade_trust_effect",
        "coefficients.trade_trust_efect", "parameters[0].path"),
    cal("calibration_prior_outside_scenario", "calibration", PRIOR,
        "{path: coefficients.trade_diversion, dist: uniform, low: -5.0, high: 0.8}", "parameters[0].path"),
    cal("calibration_particles_huge", "calibration", "particles: 10", "particles: 10000000", "budget"),
    cal("calibration_budget_replicates_huge", "calibration", "replicates: 1}", "replicates: 1000000000}", "budget"),
    cal("calibration_generations_zero", "calibration", "generations: 2", "generations: 0", "budget.generations"),
    cal("calibration_quantile_one", "calibration", "quantile: 0.5", "quantile: 1", "budget.quantile"),
    cal("calibration_quantile_nan", "calibration", "quantile: 0.5", "quantile: .nan", "budget.quantile"),
    cal("calibration_until_feb_30", "calibration", "calibrate_until: 2012-12", "calibrate_until: 2012-02-30",
        "split.calibrate_until"),
    cal("calibration_until_before_start", "calibration", "calibrate_until: 2012-12", "calibrate_until: 1990-01",
        "split.calibrate_until"),
    cal("calibration_record_missing", "calibration", "scenario: ../scenarios/baseline.yaml",
        "scenario: ../scenarios/baseline.yaml\nrecord: nothere", "record"),
    cal("calibration_scenario_dev_zero", "calibration", "../scenarios/baseline.yaml", "/dev/zero", "scenario"),
    cal("calibration_seed_2_70", "calibration", "seed: 3", "seed: 1180591620717411303424", "seed"),
    cal("calibration_seed_bool", "calibration", "seed: 3", "seed: yes", "seed"),
    Case("calibration_alias_bomb", "calibration", CAL, ("bad.yaml:", "alias"), (write("calibration/bad.yaml", BOMB),),
         subprocess=True),
    Case("calibration_workers_100000", "calibration",
         ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{out}", "--workers", "100000", "--no-evaluate"),
         ("--workers",)),
    Case("calibration_evaluate_replicates_huge", "calibration",
         ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{out}", "--workers", "1", "--replicates",
          "1000000000"), ("--replicates",)),
    Case("calibration_scenario_out_in_a_file", "calibration",
         ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{out}", "--workers", "1", "--no-evaluate",
          "--scenario-out", "{ws}/in/file.txt/cal.yaml"), ("--scenario-out",), (write("in/file.txt", "x\n"),)),
]

CHRON_TEXT = "Chronology of China-Russia Relations\n\nSept. 7, 2012: Presidents Hu and Putin meet in Vladivostok.\n"
CH = ("import-chronology", "{ws}/in/chron.txt", "--out", "{out}/rows.csv")
CHRON_CASES = [
    Case("chronology_fifo", "chronology", CH, ("chron.txt", "regular file"), (fifo("in/chron.txt"),),
         subprocess=True),
    Case("chronology_dev_zero", "chronology", ("import-chronology", "/dev/zero", "--out", "{out}/rows.csv"),
         ("/dev/zero", "regular file")),
    Case("chronology_directory", "chronology", CH, ("chron.txt",), (mkdir("in/chron.txt"),)),
    Case("chronology_binary", "chronology", CH, ("chron.txt", "UTF-8"), (write("in/chron.txt", b"\xff\xfe\x00\x01"),)),
    Case("chronology_nul_bytes", "chronology", CH, ("chron.txt", "control"),
         (write("in/chron.txt", CHRON_TEXT.replace("Putin", "Pu\x00tin")),)),
    Case("chronology_empty", "chronology", CH, ("chron.txt", "empty"), (write("in/chron.txt", ""),)),
    Case("chronology_huge", "chronology", CH, ("chron.txt", "MiB"), (big("in/chron.txt", 40),)),
    Case("chronology_pair_one_state", "chronology", CH + ("--pair", "china"), ("pair",),
         (write("in/chron.txt", CHRON_TEXT),)),
    Case("chronology_pair_unknown", "chronology", CH + ("--pair", "china,atlantis"), ("atlantis",),
         (write("in/chron.txt", CHRON_TEXT),)),
    Case("chronology_aliases_missing", "chronology", CH + ("--aliases", "{ws}/in/nothere.yaml"), ("nothere.yaml",),
         (write("in/chron.txt", CHRON_TEXT),)),
    Case("chronology_aliases_bomb", "chronology", CH + ("--aliases", "{ws}/in/aliases.yaml"), ("aliases.yaml",),
         (write("in/chron.txt", CHRON_TEXT), write("in/aliases.yaml", BOMB)), subprocess=True),
    Case("chronology_aliases_list", "chronology", CH + ("--aliases", "{ws}/in/aliases.yaml"), ("aliases.yaml",),
         (write("in/chron.txt", CHRON_TEXT), write("in/aliases.yaml", "- a\n- b\n"))),
    Case("chronology_aliases_states_list", "chronology", CH + ("--aliases", "{ws}/in/aliases.yaml"),
         ("aliases.yaml", "states"),
         (write("in/chron.txt", CHRON_TEXT),
          write("in/aliases.yaml", "states: [china, russia]\norganisations: {}\ntype_rules: []\n"))),
    Case("chronology_aliases_person_without_name", "chronology", CH + ("--aliases", "{ws}/in/aliases.yaml"),
         ("aliases.yaml", "states.china.people[0]"),
         (write("in/chron.txt", CHRON_TEXT),
          write("in/aliases.yaml", "states:\n  china: {names: [China], people: [{title: x}]}\n"
                                   "organisations: {}\ntype_rules: []\n"))),
    Case("chronology_aliases_rule_not_text", "chronology", CH + ("--aliases", "{ws}/in/aliases.yaml"),
         ("aliases.yaml", "type_rules[0].pattern"),
         (write("in/chron.txt", CHRON_TEXT),
          write("in/aliases.yaml", "states:\n  china: {names: [China]}\n  russia: {names: [Russia]}\n"
                                   "organisations: {}\ntype_rules: [{type: visit, pattern: 5}]\n"))),
    Case("chronology_out_is_directory", "chronology", ("import-chronology", "{ws}/in/chron.txt", "--out", "{out}"),
         ("--out",), (write("in/chron.txt", CHRON_TEXT), mkdir("out"))),
    Case("chronology_no_entries", "chronology", CH + ("--pair", "china,russia"), ("chron.txt", "no dated"),
         (write("in/chron.txt", "nothing dated here\n"),)),
]

REC = ("record", "--folder", "{ws}/in/record", "--out", "{out}/summary.json")


def _record_copy(ws: Path) -> None:
    shutil.copytree(ws / "calibration" / "record", ws / "in" / "record")


RECORD_CASES = [
    Case("record_folder_missing", "record", ("record", "--folder", "{ws}/in/nothere"), ("nothere",)),
    Case("record_yaml_bomb", "record", REC, ("record.yaml:", "alias"),
         (_record_copy, write("in/record/record.yaml", BOMB)), subprocess=True),
    Case("record_csv_not_utf8", "record", REC, ("events.csv", "UTF-8"),
         (_record_copy, write("in/record/events.csv", b"date,type\n\xff\xfe\n"))),
    Case("record_csv_nul", "record", REC, ("windows.csv", "control"),
         (_record_copy, write("in/record/windows.csv", "id,kind,start,end\n\x00\n"))),
    Case("record_csv_fifo", "record", REC, ("windows.csv", "regular file"),
         (_record_copy, remove("in/record/windows.csv"), fifo("in/record/windows.csv")), subprocess=True),
    Case("record_csv_huge", "record", REC, ("observations.csv", "MiB"),
         (_record_copy, big("in/record/observations.csv", 70, "a,b,c\n"))),
    Case("record_yaml_list", "record", REC, ("record.yaml:1",),
         (_record_copy, write("in/record/record.yaml", "- a\n"))),
    Case("record_out_is_directory", "record", ("record", "--out", "{out}"), ("--out",), (mkdir("out"),)),
    Case("record_aliases_dev_zero", "record", ("record", "--aliases", "/dev/zero"), ("/dev/zero",)),
]

# ---------------------------------------------------------------- the agents' fields (relations, contracts,
# driver effects and interpolation, event responses, per-partner fuel shares, arms backlog and grade)

REL = "  - pair: [russia, usa]"
S400 = "{seller: russia, buyer: china, value: {value: 3.0,"
S400_GRADE = 'grade: {value: 1.0, source: "004_428dc53703d8f109.txt:97-100"'
BACKLOG = 'backlog: {value: 3.0, unit: bn USD, source: "001_e7aa02c26cd915e1.txt:66-68"'
POINT = "points: [{date: 2000-01, value: 28, assumption: corpus}]"


def _driver(body: str) -> str:
    """A child that adds the driver ``rub`` (body: its extra keys, YAML flow)."""
    return ("drivers:\n  rub: {unit: RUB per USD, description: rouble, " + POINT + (", " if body else "") + body
            + "}\n")


AGENT_CASES = [
    scen("relation_unknown_state", "agents", REL, "  - pair: [russia, atlantis]", "relations[0].pair[1]",
         "unknown state"),
    scen("relation_same_state", "agents", REL, "  - pair: [russia, russia]", "relations[0].pair", "two different"),
    scen("relation_is_the_focal_pair", "agents", REL, "  - pair: [russia, china]", "relations[0].pair", "focal"),
    scen("relation_listed_twice", "agents", "  - pair: [china, usa]", "  - pair: [usa, russia]", "relations[1].pair",
         "twice"),
    scen("relation_three_states", "agents", REL, "  - pair: [russia, usa, china]", "relations[0].pair"),
    child("relation_without_events", "agents", "relations:\n  - {pair: [russia, usa], events: {}}\n",
          "relations[0].events"),
    child("relation_rate_nan", "agents",
          "relations:\n  - {pair: [russia, usa], events: {friction: {rate: {value: .nan, assumption: x}}}}\n",
          "relations[0].events.friction.rate"),
    child("relation_rate_huge", "agents",
          "relations:\n  - {pair: [russia, usa], events: {friction: {rate: {value: 1e9, assumption: x}}}}\n",
          "relations[0].events.friction.rate"),
    child("relation_unknown_event_type", "agents",
          "relations:\n  - {pair: [russia, usa], events: {tea_party: {rate: {value: 1, assumption: x}}}}\n",
          "relations[0].events"),
    scen("contract_unknown_seller", "agents", S400, "{seller: atlantis, buyer: china, value: {value: 3.0,",
         "contracts[0].seller", "unknown state"),
    scen("contract_unknown_buyer", "agents", S400, "{seller: russia, buyer: atlantis, value: {value: 3.0,",
         "contracts[0].buyer", "unknown state"),
    scen("contract_buyer_not_a_client", "agents", S400, "{seller: china, buyer: russia, value: {value: 3.0,",
         "contracts[0].buyer", "arms_clients"),
    *[scen(f"contract_value_{name}", "agents", S400, S400.replace("3.0", value), "contracts[0].value")
      for name, value in (("negative", "-3.0"), ("nan", ".nan"), ("yes", "yes"), ("1e300", "1e300"))],
    scen("contract_grade_two", "agents", S400_GRADE, S400_GRADE.replace("1.0", "2.0"), "contracts[0].grade"),
    child("exchange_rate_without_state", "agents", _driver("effects: [{kind: exchange_rate}]"),
          "drivers.rub.effects[0].state", "exchange_rate"),
    child("exchange_rate_unknown_state", "agents", _driver("effects: [{kind: exchange_rate, state: atlantis}]"),
          "drivers.rub.effects[0].state", "atlantis"),
    child("energy_price_with_state", "agents", _driver("effects: [{kind: energy_price, state: russia}]"),
          "drivers.rub.effects[0].state"),
    child("second_energy_price", "agents", _driver("effects: [{kind: energy_price}]"), "drivers.rub.effects[0]",
          "energy price"),
    child("driver_acting_on_nothing", "agents", _driver(""), "drivers.rub", "acts on nothing"),
    child("driver_effect_unknown_kind", "agents", _driver("effects: [{kind: gold_price}]"),
          "drivers.rub.effects[0].kind"),
    child("driver_interpolation_cubic", "agents", "drivers:\n  oil_price: {interpolation: cubic}\n",
          "drivers.oil_price.interpolation"),
    child("exchange_rate_point_zero", "agents",
          "drivers:\n  rub: {unit: RUB per USD, description: rouble, points: [{date: 2000-01, value: 0, "
          "assumption: corpus}], effects: [{kind: exchange_rate, state: russia}]}\n",
          "drivers.rub.points[0].value", "positive"),
    child("exchange_rate_effect_below_zero", "agents",
          _driver("effects: [{kind: exchange_rate, state: russia}]")
          + _effect("drivers.rub", "add", "-50"), APPENDED, "rub"),
    child("step_driver_effect_below_zero", "agents", "drivers:\n  oil_price: {interpolation: step}\n"
          + _effect("drivers.oil_price", "add", "-31", ", duration: 2"), APPENDED, "oil_price"),
    child("responds_unknown_signal", "agents",
          "events:\n  visit: {responds: {mood: {value: 1, assumption: x}}}\n", "events.visit.responds"),
    child("responds_nan", "agents", "events:\n  visit: {responds: {crisis: {value: .nan, assumption: x}}}\n",
          "events.visit.responds.crisis"),
    child("responds_huge", "agents", "events:\n  visit: {responds: {crisis: {value: 1e6, assumption: x}}}\n",
          "events.visit.responds.crisis"),
    child("responds_uncited", "agents", "events:\n  visit: {responds: {crisis: {value: 1}}}\n",
          "events.visit.responds.crisis"),
    child("fuel_share_unknown_partner", "agents",
          "states:\n  russia: {export_energy_share: {atlantis: {value: 0.5, assumption: x}}}\n",
          "states.russia.export_energy_share.atlantis"),
    child("fuel_share_partner_without_exports", "agents",
          "states:\n  russia: {export_energy_share: {japan: {value: 0.5, assumption: x}}}\n",
          "states.russia.export_energy_share.japan", "exports"),
    child("fuel_share_above_one", "agents",
          "states:\n  russia: {export_energy_share: {china: {value: 1.5, assumption: x}}}\n",
          "states.russia.export_energy_share.china"),
    scen("arms_backlog_negative", "agents", BACKLOG, BACKLOG.replace("3.0", "-3.0"),
         "states.russia.arms_clients.china.backlog"),
    scen("arms_backlog_inf", "agents", BACKLOG, BACKLOG.replace("3.0", ".inf"),
         "states.russia.arms_clients.china.backlog"),
    child("arms_grade_above_one", "agents",
          "states:\n  russia: {arms_clients: {china: {grade: {value: 2, assumption: x}}}}\n",
          "states.russia.arms_clients.china.grade"),
]


# ---------------------------------------------------------------- a run's results folder, damaged

RUN_DIR = "results/run"
RUN_BASE = ("run", "{ws}/scenarios/baseline.yaml", "--replicates", "2", "--no-plots", "--no-compare")


def _run_folder(id: str, setup: tuple, *expect: str, cmd: str = "compare") -> Case:
    return Case(id, "run-results", (cmd, "{ws}/" + RUN_DIR, "--out", "{out}"), expect, setup, needs=("run",))


RUN_RESULT_CASES = [
    _run_folder("run_indicators_truncated", (truncate(RUN_DIR + "/indicators.parquet"),), "indicators.parquet",
                "hash"),
    _run_folder("run_indicators_empty", (write(RUN_DIR + "/indicators.parquet", b""),), "indicators.parquet"),
    _run_folder("run_events_4_bytes", (write(RUN_DIR + "/events.parquet", b"PAR1"),), "events.parquet"),
    _run_folder("run_indicators_row_deleted", (table_edit(RUN_DIR + "/indicators.parquet", "drop_rows"),),
                "indicators.parquet"),
    _run_folder("run_indicators_column_all_nan",
                (table_edit(RUN_DIR + "/indicators.parquet", "nan:events.total"),), "indicators.parquet"),
    _run_folder("run_indicators_missing", (remove(RUN_DIR + "/indicators.parquet"),), "indicators.parquet",
                "missing"),
    _run_folder("run_scenario_missing", (remove(RUN_DIR + "/scenario.resolved.json"),), "scenario.resolved.json"),
    _run_folder("run_manifest_not_json", (write(RUN_DIR + "/manifest.json", "{not json"),), "manifest.json"),
    _run_folder("run_manifest_empty", (write(RUN_DIR + "/manifest.json", ""),), "manifest.json"),
    _run_folder("run_manifest_a_list", (write(RUN_DIR + "/manifest.json", "[]"),), "manifest.json"),
    _run_folder("run_manifest_without_hashes", (json_edit(RUN_DIR + "/manifest.json", drop_key("files")),),
                "manifest.json", "files"),
    _run_folder("run_manifest_without_focal", (json_edit(RUN_DIR + "/manifest.json", drop_key("focal")),),
                "focal"),
    _run_folder("run_manifest_hash_edited",
                (json_edit(RUN_DIR + "/manifest.json",
                           lambda d: {**d, "files": {**d.get("files", {}), "events.parquet": "0" * 64}}),),
                "events.parquet"),
    _run_folder("run_stale_scorecard_beside", (write(RUN_DIR + "/scorecard.json", "{}"),), "scorecard.json"),
    _run_folder("run_duplicated_table", (copy(RUN_DIR + "/indicators.parquet", RUN_DIR + "/indicators 2.parquet"),),
                "indicators 2.parquet"),
    _run_folder("plot_run_indicators_truncated", (truncate(RUN_DIR + "/indicators.parquet"),),
                "indicators.parquet", cmd="plot"),
    _run_folder("plot_run_manifest_not_json", (write(RUN_DIR + "/manifest.json", "{"),), "manifest.json", cmd="plot"),
    _run_folder("report_run_events_truncated", (truncate(RUN_DIR + "/events.parquet"),), "events.parquet",
                cmd="report"),
    _run_folder("report_run_manifest_without_hashes",
                (json_edit(RUN_DIR + "/manifest.json", drop_key("files")),), "files", cmd="report"),
    flag("run_into_folder_of_other_files", RUN_BASE + ("--out", "{ws}/in"), "--force",
         setup=(write("in/notes.txt", "mine\n"),), cat="run-results", out="{ws}/in"),
    flag("run_replicates_100000", RUN_BASE[:2] + ("--replicates", "100000") + RUN_BASE[4:] + ("--out", "{out}"),
         "replicates", "memory", cat="run-results"),
]


SENS = ("sensitivity", "{ws}/results/sobol")
PLOT = ("plot-sweep", "{ws}/results/grid", "--x", "coefficients.trade_diversion", "--output", "trade_2014")
RESUME = ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{ws}/results/grid", "--workers", "1", "--quiet")
SOBOL_PART = "results/sobol/runs/part-00000.parquet"
GRID_PART = "results/grid/runs/part-00000.parquet"


def _sobol(id: str, setup: tuple, *expect: str, argv: tuple = SENS) -> Case:
    return folder(id, "sweep-results", "sobol", setup, argv, *expect)


def _grid(id: str, setup: tuple, *expect: str, argv: tuple = PLOT) -> Case:
    return folder(id, "sweep-results", "grid", setup, argv, *expect)


SWEEP_RESULT_CASES = [
    _sobol("sweep_results_no_manifest", (remove("results/sobol/manifest.json"),), "manifest.json"),
    _sobol("sweep_results_manifest_not_json", (write("results/sobol/manifest.json", "{not json"),), "manifest.json"),
    _sobol("sweep_results_manifest_empty", (write("results/sobol/manifest.json", ""),), "manifest.json"),
    _sobol("sweep_results_manifest_list", (write("results/sobol/manifest.json", "[1, 2]"),), "manifest.json"),
    _sobol("sweep_results_manifest_without_problem", (json_edit("results/sobol/manifest.json", drop_key("problem")),),
           "manifest.json", "problem"),
    _sobol("sweep_results_manifest_without_outputs", (json_edit("results/sobol/manifest.json", drop_key("outputs")),),
           "manifest.json", "outputs"),
    _sobol("sweep_results_manifest_points_text", (json_edit("results/sobol/manifest.json", set_key("points", "x")),),
           "manifest.json", "points"),
    _sobol("sweep_results_manifest_design_missing_method",
           (json_edit("results/sobol/manifest.json", drop_key("design", "method")),), "manifest.json", "design"),
    _sobol("sweep_results_manifest_not_utf8", (write("results/sobol/manifest.json", b"\xff\xfe{}"),), "manifest.json"),
    _sobol("sweep_results_part_truncated", (truncate(SOBOL_PART),), "part-00000.parquet"),
    _sobol("sweep_results_part_empty", (write(SOBOL_PART, b""),), "part-00000.parquet"),
    _sobol("sweep_results_part_text", (write(SOBOL_PART, "point,replicate\n1,2\n"),), "part-00000.parquet"),
    _sobol("sweep_results_part_directory", (remove(SOBOL_PART), mkdir(SOBOL_PART)), "part-00000.parquet"),
    _sobol("sweep_results_part_duplicated", (copy(SOBOL_PART, "results/sobol/runs/part-00007.parquet"),),
           "part-00007.parquet"),
    _sobol("sweep_results_rows_deleted", (table_edit(SOBOL_PART, "drop_rows"),), "part-00000.parquet"),
    _sobol("sweep_results_all_nan_output", (table_edit(SOBOL_PART, "nan:trade_2014"),
                                            table_edit("results/sobol/runs/part-00001.parquet", "nan:trade_2014")),
           "trade_2014"),
    _sobol("sweep_results_nan_in_ok_run", (table_edit(SOBOL_PART, "first_nan:events"),), "part-00000.parquet",
           "events"),
    _sobol("sweep_results_column_missing", (table_edit(SOBOL_PART, "drop_col:events"),), "part-00000.parquet",
           "events"),
    _sobol("sweep_results_parameter_missing", (table_edit(SOBOL_PART, "drop_col:coefficients.trade_diversion"),),
           "part-00000.parquet", "coefficients.trade_diversion"),
    _sobol("sweep_results_runs_folder_missing", (remove("results/sobol/runs"),), "sobol"),
    Case("sweep_results_part_from_other_sweep", "sweep-results", SENS, ("part-00001.parquet",),
         (copy(GRID_PART, "results/sobol/runs/part-00001.parquet"),), needs=("sobol", "grid"),
         out="{ws}/results/sobol"),
    _sobol("sweep_results_unknown_output", (), "--output", "nope", argv=SENS + ("--output", "nope")),
    _sobol("sweep_results_sensitivity_out_is_directory", (mkdir("results/sobol/chart.png"),), "--out",
           argv=SENS + ("--out", "{ws}/results/sobol/chart.png")),
    _grid("sweep_results_grid_for_sensitivity", (), "grid", argv=("sensitivity", "{ws}/results/grid")),
    _grid("plot_sweep_manifest_not_json", (write("results/grid/manifest.json", "]"),), "manifest.json"),
    _grid("plot_sweep_part_truncated", (truncate(GRID_PART),), "part-00000.parquet"),
    _grid("plot_sweep_all_nan_output", (table_edit(GRID_PART, "nan:trade_2014"),
                                        table_edit("results/grid/runs/part-00001.parquet", "nan:trade_2014")),
          "trade_2014"),
    _grid("plot_sweep_part_duplicated", (copy(GRID_PART, "results/grid/runs/part-00009.parquet"),),
          "part-00009.parquet"),
    _grid("plot_sweep_unknown_parameter", (), "--x", argv=PLOT[:3] + ("coefficients.nope",) + PLOT[4:]),
    _grid("plot_sweep_out_is_directory", (mkdir("results/grid/p.png"),), "--out",
          argv=PLOT + ("--out", "{ws}/results/grid/p.png")),
    _grid("sweep_resume_manifest_not_json", (write("results/grid/manifest.json", "{"),), "manifest.json",
          argv=RESUME),
    _grid("sweep_resume_manifest_without_identity", (json_edit("results/grid/manifest.json", drop_key("identity")),),
          "manifest.json", "identity", argv=RESUME),
    _grid("sweep_resume_part_truncated", (truncate(GRID_PART),), "part-00000.parquet", argv=RESUME),
    _grid("sweep_resume_part_rows_deleted", (table_edit(GRID_PART, "drop_rows"),), "part-00000.parquet",
          argv=RESUME),
    _grid("sweep_resume_part_duplicated", (copy(GRID_PART, "results/grid/runs/part-00005.parquet"),),
          "part-00005.parquet", argv=RESUME),
]

CALIB = ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{ws}/results/calib", "--workers", "1", "--no-evaluate")
GEN0 = "results/calib/generation-00.parquet"
STATE = "results/calib/state.json"


def _calib(id: str, setup: tuple, *expect: str) -> Case:
    return folder(id, "calibration-results", "calib", setup, CALIB, *expect)


CALIB_RESULT_CASES = [
    _calib("calibration_state_not_json", (write(STATE, "{oops"),), "state.json"),
    _calib("calibration_state_empty", (write(STATE, ""),), "state.json"),
    _calib("calibration_state_list", (write(STATE, "[]"),), "state.json"),
    _calib("calibration_state_without_scales", (json_edit(STATE, drop_key("scales")),), "state.json", "scales"),
    _calib("calibration_state_without_generations", (json_edit(STATE, drop_key("generations")),), "state.json",
           "generations"),
    _calib("calibration_state_scales_text", (json_edit(STATE, set_key("scales", "abc")),), "state.json", "scales"),
    _calib("calibration_state_is_directory", (remove(STATE), mkdir(STATE)), "state.json"),
    _calib("calibration_generation_truncated", (truncate(GEN0),), "generation-00.parquet"),
    _calib("calibration_generation_missing", (remove(GEN0),), "generation-00.parquet"),
    _calib("calibration_generation_rows_deleted", (table_edit(GEN0, "drop_rows"),), "generation-00.parquet"),
    _calib("calibration_generation_nan_weights", (table_edit(GEN0, "nan:weight"),), "generation-00.parquet",
           "weight"),
    _calib("calibration_generation_column_missing", (table_edit(GEN0, "drop_col:distance"),),
           "generation-00.parquet", "distance"),
    _calib("calibration_generation_text", (write(GEN0, "generation,weight\n0,1\n"),), "generation-00.parquet"),
]

C = ("compare", "{ws}/scenarios/baseline.yaml", "--replicates", "2", "--out", "{out}")
FLAG_CASES = [
    flag("since_yesterday_ish", C + ("--since", "yesterday-ish"), "--since"),
    flag("since_after_until", C + ("--since", "2015-01-01", "--until", "2010-01-01"), "--since"),
    flag("until_feb_30", C + ("--until", "2012-02-30"), "--until"),
    flag("since_empty", C + ("--since", ""), "--since"),
    flag("since_year_99999", C + ("--since", "99999-01-01"), "--since"),
    flag("scheduler_not_a_url", ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{out}", "--scheduler", "not a url"),
         "--scheduler"),
    flag("scheduler_scheme_only", ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{out}", "--scheduler", "tcp://"),
         "--scheduler"),
    flag("scheduler_bad_port", ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{out}", "--scheduler",
                                "tcp://localhost:99999"), "--scheduler"),
    flag("workers_zero", ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{out}", "--workers", "0"), "--workers"),
    flag("replicates_flag_zero", C[:3] + ("0", "--out", "{out}"), "--replicates"),
    flag("replicates_words", C[:3] + ("many", "--out", "{out}"), "--replicates"),
    flag("replicates_huge_compare", C[:3] + ("1000000000", "--out", "{out}"), "--replicates"),
    flag("replicates_huge_plot", ("plot", "{ws}/scenarios/baseline.yaml", "--replicates", "1000000000", "--out",
                                  "{out}"), "--replicates"),
    flag("replicates_huge_report", ("report", "{ws}/scenarios/baseline.yaml", "--replicates", "1000000000", "--out",
                                    "{out}"), "--replicates"),
    flag("seed_negative", C + ("--seed", "-1"), "--seed"),
    flag("seed_2_80", C + ("--seed", str(2**80)), "--seed"),
    flag("columns_unknown", ("plot", "{ws}/scenarios/baseline.yaml", "--replicates", "2", "--columns", "nope",
                             "--out", "{out}"), "--columns"),
    flag("unknown_flag", C + ("--frobnicate",), "--frobnicate"),
    flag("unknown_command", ("frobnicate",), "frobnicate"),
    flag("no_command", (), "COMMAND"),
    flag("compare_missing_results_folder", ("compare", "{ws}/nothere"), "nothere"),
    flag("compare_record_not_folder", C + ("--record", "{ws}/scenarios/baseline.yaml"), "baseline.yaml"),
    flag("compare_results_folder_without_manifest", ("compare", "{ws}/in", "--out", "{out}"), "in"),
    flag("describe_missing_scenario", ("describe", "{ws}/nothere.yaml", "--out", "{out}/model.md"), "nothere.yaml"),
    flag("plot_vs_missing", ("plot", "{ws}/scenarios/baseline.yaml", "--replicates", "2", "--vs", "{ws}/nothere.yaml",
                             "--out", "{out}"), "nothere.yaml"),
]


def _out_file(id: str, argv: tuple, *expect: str, setup: tuple = (), needs: tuple = ()) -> Case:
    return flag(id, argv, "--out", *expect, setup=(write("in/file.txt", "x\n"),) + setup, needs=needs, cat="out",
                out="{ws}/in/file.txt")


BASE = "{ws}/scenarios/baseline.yaml"
FILE = "{ws}/in/file.txt"
UNDER = "{ws}/in/file.txt/sub"
OUT_CASES = [
    _out_file("out_is_file_run", ("run", BASE, "--replicates", "2", "--out", FILE)),
    _out_file("out_is_file_compare", ("compare", BASE, "--replicates", "2", "--out", FILE)),
    _out_file("out_is_file_plot", ("plot", BASE, "--replicates", "2", "--out", FILE)),
    _out_file("out_is_file_report", ("report", BASE, "--replicates", "2", "--out", FILE)),
    _out_file("out_is_file_sweep", ("sweep", "{ws}/sweeps/tiny.yaml", "--workers", "1", "--out", FILE)),
    _out_file("out_is_file_calibrate", ("calibrate", "{ws}/calibration/tiny.yaml", "--workers", "1", "--out", FILE)),
    _out_file("out_under_file_record", ("record", "--out", UNDER + ".json")),
    _out_file("out_under_file_chronology", ("import-chronology", "{ws}/in/chron.txt", "--out", UNDER + ".csv"),
              setup=(write("in/chron.txt", CHRON_TEXT),)),
    _out_file("out_under_file_sensitivity", ("sensitivity", "{ws}/results/sobol", "--out", UNDER + ".png"),
              needs=("sobol",)),
    _out_file("out_under_file_plot_sweep", PLOT + ("--out", UNDER + ".png"), needs=("grid",)),
    _out_file("out_under_file_describe", ("describe", BASE, "--out", UNDER + ".md")),
    _out_file("out_under_file_run", ("run", BASE, "--replicates", "2", "--out", UNDER)),
    _out_file("out_under_file_sweep", ("sweep", "{ws}/sweeps/tiny.yaml", "--workers", "1", "--out", UNDER)),
    _out_file("out_under_file_compare", ("compare", BASE, "--replicates", "2", "--out", UNDER)),
    _out_file("out_under_file_new_scenario", ("new-scenario", "--pair", "india", "japan", "--start", "2000-01",
                                              "--end", "2001-12", "--out", UNDER + ".yaml")),
    flag("out_is_folder_new_scenario", ("new-scenario", "--pair", "india", "japan", "--start", "2000-01", "--end",
                                        "2001-12", "--out", "{ws}/in", "--force"), "--out", "folder", cat="out",
         out="{ws}/in"),
    flag("out_in_proc_run", ("run", BASE, "--replicates", "2", "--out", "/proc/dyadsim-out"), "--out", cat="out"),
    flag("out_in_proc_sweep", ("sweep", "{ws}/sweeps/tiny.yaml", "--workers", "1", "--out", "/proc/dyadsim-out"),
         "--out", cat="out"),
    flag("out_in_proc_record", ("record", "--out", "/proc/dyadsim.json"), "--out", cat="out"),
    flag("out_empty_string", ("run", BASE, "--replicates", "2", "--out", ""), "--out", cat="out"),
    flag("out_is_dev_null_describe", ("describe", BASE, "--out", "/dev/null"), "--out", cat="out"),
    flag("out_read_only_run", ("run", BASE, "--replicates", "2", "--out", "{ws}/ro/out"), "--out",
         setup=(readonly("ro"),), cat="out", unless_root=True),
    flag("out_read_only_calibrate", ("calibrate", "{ws}/calibration/tiny.yaml", "--out", "{ws}/ro/out"), "--out",
         setup=(readonly("ro"),), cat="out", unless_root=True),
    flag("out_read_only_existing_sweep", ("sweep", "{ws}/sweeps/tiny.yaml", "--out", "{ws}/ro"), "--out",
         setup=(readonly("ro"),), cat="out", unless_root=True),
]

CASES: list[Case] = (YAML_CASES + NUMBER_CASES + REFERENCE_CASES + NAME_CASES + SET_CASES + POSTERIOR_CASES
                     + SWEEP_CASES + CAL_CASES + CHRON_CASES + RECORD_CASES + SWEEP_RESULT_CASES
                     + CALIB_RESULT_CASES + FLAG_CASES + OUT_CASES + AGENT_CASES + RUN_RESULT_CASES)


# ---------------------------------------------------------------- running and judging a case

@dataclass
class Outcome:
    rc: int | None                 # None: did not finish in time
    stderr: str
    seconds: float
    escaped: list[str] = field(default_factory=list)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with (kind, size, mtime) of files; FIFOs and devices are never opened."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mode >> 12, st.st_size, st.st_mtime_ns) \
                if not os.path.isdir(p) or os.path.islink(p) else ("dir",)
    return out


def escaped(before: dict, after: dict, root: Path, out: Path) -> list[str]:
    """Paths created or changed under root, outside ``out``."""
    try:
        rel_out = os.path.relpath(out, root)
    except ValueError:
        rel_out = None
    changed = [p for p, v in after.items() if before.get(p) != v]

    def inside(p: str) -> bool:
        return rel_out is not None and not rel_out.startswith("..") and (p == rel_out or p.startswith(rel_out + os.sep))
    return sorted(p for p in changed if not inside(p))


def judge(case: Case, outcome: Outcome, ws: Path) -> list[str]:
    """What is wrong with how the command met this case; empty when it behaved."""
    if outcome.rc is None:
        return [f"hang (no answer in {outcome.seconds:.0f} s)"]
    problems = []
    err = outcome.stderr.strip()
    lines = err.splitlines()
    if "MemoryError" in err or outcome.rc in (-9, 137):
        problems.append("memory exhausted")
    if "Traceback" in err:
        problems.append("traceback")
    if outcome.rc != 2:
        problems.append(f"exit status {outcome.rc}" + (" (accepted silently)" if outcome.rc == 0 else ""))
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    for want in case.expect:
        if case.fill(want, ws) not in err:
            problems.append(f"error does not name {want!r}")
    if outcome.escaped:
        problems.append(f"wrote outside --out: {outcome.escaped[:3]}")
    return problems


def classify(problems: list[str]) -> str:
    """One word per case for the counts: clear, hang, memory, traceback, silent, escape, failed, unclear."""
    if not problems:
        return "clear"
    text = " ".join(problems)
    for word, key in (("hang", "hang"), ("memory", "memory"), ("traceback", "traceback"), ("silent", "silently"),
                      ("escape", "outside")):
        if key in text or word in text:
            return word
    if "exit status" in text:
        return "failed"
    return "unclear"
