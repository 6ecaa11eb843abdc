"""The README describes the repository as it is: its layout, and which package modules feed which rules."""
import ast
import re

from conftest import ROOT
from job_imports import rule_scripts  # benchmarks/ (on the path through conftest)


PACKAGE = ROOT / "src/spatialpool"


def module_name(path) -> str:
    """src/spatialpool/measurement/estimator.py -> 'measurement.estimator'."""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def package_modules() -> list:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.stem != "__init__")


def _imports(path) -> set[str]:
    """Package modules (dotted names below spatialpool) that a file imports, absolutely or relatively."""
    known = {module_name(p) for p in package_modules()}
    here = module_name(path).split(".")[:-1] if PACKAGE in path.parents else []
    mods = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join([*here[:len(here) - node.level + 1], *([node.module] if node.module else [])])
            elif node.module == "spatialpool" or (node.module or "").startswith("spatialpool."):
                base = node.module.removeprefix("spatialpool").lstrip(".")
            else:
                continue
            for alias in node.names:  # `from spatialpool.claims import statistics` names a module
                name = f"{base}.{alias.name}".lstrip(".")
                mods.add(name if name in known else base)
        elif isinstance(node, ast.Import):
            mods |= {a.name.removeprefix("spatialpool.") for a in node.names if a.name.startswith("spatialpool.")}
    return mods & known


def modules_feeding_rules() -> dict[str, list[str]]:
    """Package module -> the rules whose scripts import it, directly or through other modules."""
    direct = {module_name(p): _imports(p) for p in package_modules()}

    def closure(mods):
        seen, todo = set(), list(mods)
        while todo:
            m = todo.pop()
            if m not in seen and m in direct:
                seen.add(m)
                todo += direct[m]
        return seen

    table: dict[str, set] = {}
    for rule, script in rule_scripts().items():
        for m in closure(_imports(ROOT / f"workflow/scripts/{script}.py")):
            table.setdefault(m, set()).add(rule)
    return {m: sorted(rules) for m, rules in sorted(table.items())}


def module_table() -> str:
    return "\n".join(f"| `{m.replace('.', '/')}.py` | {', '.join(rules)} |" for m, rules in modules_feeding_rules().items())


def test_readme_module_table_is_current():
    """Package edits do not trigger reruns; the README's table tells users what to force."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- module-table -->")[1].split("<!-- /module-table -->")[0]
    rows = "\n".join(line for line in block.strip().splitlines() if line.startswith("| `"))
    assert rows == module_table(), "regenerate with: python -c 'import sys; sys.path.insert(0, \"tests\"); " \
                                   "import test_docs; print(test_docs.module_table())'"


def test_readme_layout_names_every_module_and_rule_file():
    """Each package module is named on its stage's line of the layout (or, top level, on a line of its own)."""
    text = (ROOT / "README.md").read_text()
    layout = text.split("## Layout")[1].split("```")[1]
    entries = []  # one per layout entry, its continuation lines (indented further) joined to it
    for line in layout.splitlines():
        if len(line) - len(line.lstrip()) <= 2 or not entries:
            entries.append(line.strip())
        else:
            entries[-1] += " " + line.strip()
    for path in package_modules():
        stage = path.parent.relative_to(PACKAGE).as_posix()
        where = [e for e in entries if stage == "." or e.startswith(stage + "/")]
        assert any(path.name in ln for ln in where), f"README layout does not mention {path.relative_to(ROOT)}"
    for path in (ROOT / "workflow/rules").glob("*.smk"):
        assert path.stem in layout, f"README layout does not mention {path.relative_to(ROOT)}"
    for name in re.findall(r"\b([a-z_0-9]+\.(?:py|smk))\b", layout):
        hits = [p for p in ROOT.rglob(name) if ".snakemake" not in p.parts and "results" not in p.parts]
        assert hits, f"README layout names {name}, which does not exist"


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci/run").read_text().splitlines()
    assert "python3 -m venv" in test_command and "python3 -m venv" in commands[0]  # both in a fresh venv


# Paths of the development machine that users do not have, assembled so that this file names none.
OUTSIDE = ["REFERENCE" + ".md", ".." + "/shared", "shared" + "/data", "shared" + "/paper"]


def test_nothing_points_outside_the_repository():
    """Users get the repository only: no file points at the development machine's notes or data,
    and no file cites a doc that does not exist."""
    import subprocess
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in files:
        path = ROOT / name
        if path.suffix in (".py", ".smk", ".md", ".yaml", ".rst", ".toml") or path.name in ("Snakefile", "run"):
            text = path.read_text(errors="ignore")
            for bad in OUTSIDE:
                if name == ".ci/run" and bad in (".." + "/shared", "shared" + "/data"):
                    # CI's own script may name CI's data location (the CIFAR-10 JPEG copy beside the
                    # checkout): users never run it, and the tests it feeds skip without it
                    text = text.replace("..", "").replace("/" + "shared/" + "data/cifar10_jpeg.tar.gz", "")
                assert bad not in text, f"{name} mentions {bad}"
            for doc in re.findall(r"\bdocs/[\w./-]+\.md\b", text):
                assert (ROOT / doc).exists(), f"{name} cites {doc}, which does not exist"
