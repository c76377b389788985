"""The behaviour specification and the tests agree: docs/axi-dma-behaviour.md.

Every rule there has at least one test that names it with ``@pytest.mark.rule``, every rule a
test names exists, and each rule's *Tests* line lists exactly the tests that name it. The
markers are read from the test sources (not from a collection), so the check is the same
whatever subset of the suite runs.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "docs" / "axi-dma-behaviour.md"
DEPARTURES = "## Known departures, not yet implemented"
RULE_ID = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+"
HEADING = re.compile(rf"^#### ({RULE_ID}) — \S")
TEST_REF = re.compile(r"`([\w.]+\.py)::(\w+)`")
TEST_FILES = sorted([*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("rtl_tb/test_*.py")])


def spec_rules(text: str) -> dict[str, set[tuple[str, str]]]:
    """Rule id -> the tests its *Tests* line lists, for the rules above the departures."""
    if DEPARTURES not in text:
        raise AssertionError(f"the spec has no '{DEPARTURES}' section")
    rules: dict[str, set[tuple[str, str]]] = {}
    current = None
    for line in text.split(DEPARTURES)[0].splitlines():
        m = HEADING.match(line)
        if m:
            current = m.group(1)
            assert current not in rules, f"rule {current} is defined twice"
            rules[current] = set()
        elif current and line.startswith("*Source:*"):
            assert "*Tests:*" in line, f"rule {current}: the Source line names no tests"
            rules[current] = set(TEST_REF.findall(line.split("*Tests:*", 1)[1]))
            current = None
    return rules


def _rule_ids(decorator: ast.expr) -> list[str] | None:
    """The ids of a ``pytest.mark.rule(...)`` decorator, or None for any other decorator."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "rule"):
        return None
    ids = []
    for arg in decorator.args:
        assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
            f"line {decorator.lineno}: rule ids must be string literals")
        ids.append(arg.value)
    return ids


def marked_tests(files: list[Path]) -> dict[str, set[tuple[str, str]]]:
    """Rule id -> ``(file name, test name)`` of every test marked with it."""
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    for rid in _rule_ids(dec) or []:
                        out[rid].add((path.name, node.name))
    return out


def test_every_rule_has_a_test_and_every_marker_a_rule():
    rules = spec_rules(SPEC.read_text())
    assert len(rules) >= 40, f"only {len(rules)} rules parsed from {SPEC.name}"
    marked = marked_tests(TEST_FILES)
    untested = sorted(r for r in rules if not marked.get(r))
    unknown = sorted(set(marked) - set(rules))
    assert not untested, f"rules with no @pytest.mark.rule test: {untested}"
    assert not unknown, f"tests name rules that {SPEC.name} does not define: {unknown}"
    for rid, listed in rules.items():
        assert listed == marked[rid], (
            f"{rid}: the spec lists {sorted(listed - marked[rid])} that are not marked, and "
            f"the tests marked with it but not listed are {sorted(marked[rid] - listed)}")


def test_test_names_in_the_spec_exist():
    names = {(p.name, n) for p in TEST_FILES for n in re.findall(
        r"^(?:async )?def (test_\w+)", p.read_text(), re.M)}
    for rid, listed in spec_rules(SPEC.read_text()).items():
        assert listed <= names, f"{rid} lists tests that do not exist: {sorted(listed - names)}"


def test_the_check_itself_catches_both_mistakes(tmp_path):
    spec = (f"#### AB-ONE — a rule\n*Source:* PG021. *Tests:* `test_x.py::test_a`\n\n"
            f"#### AB-TWO — untested\n*Source:* dmasim. *Tests:*\n\n{DEPARTURES}\n"
            "#### AB-THREE — not a rule yet\n")
    rules = spec_rules(spec)
    assert set(rules) == {"AB-ONE", "AB-TWO"}
    src = tmp_path / "test_x.py"
    src.write_text('import pytest\n\n@pytest.mark.rule("AB-ONE", "AB-NOPE")\n'
                   "def test_a():\n    pass\n")
    marked = marked_tests([src])
    assert not marked.get("AB-TWO")  # an untested rule is seen as untested
    assert set(marked) - set(rules) == {"AB-NOPE"}  # an unknown id is seen as unknown


def test_the_rule_marker_is_registered(pytestconfig):
    assert any(m.startswith("rule(") for m in pytestconfig.getini("markers"))


@pytest.mark.parametrize("path", ["README.md", "dmasim", "hw", "rtl_tb", "tests"])
def test_nothing_points_at_a_behaviour_document_outside_the_repository(path):
    pattern = re.compile(r"\bshared/\w|[\w-]+-semantics\b")  # a sibling folder, its documents
    base = ROOT / path
    files = [base] if base.is_file() else [
        p for p in base.rglob("*") if p.is_file() and p.suffix in {
            ".py", ".md", ".v", ".vh", ".c", ".h", ".cpp"} and "sim_build" not in p.parts]
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in files
            for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            if pattern.search(line)]
    assert not hits, f"point these at docs/axi-dma-behaviour.md instead: {hits}"
