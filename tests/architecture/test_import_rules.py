"""Layering, checked on the source: library packages never import the CLI or the presentation
layer, and `models` does not import the lab. Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import coscale

ROOT = Path(coscale.__file__).parent
LIBRARY = ("models", "hardware", "cost", "workload", "predict", "train", "lab", "numerics", "validation", "specs",
           "feasibility")
ABOVE_LIBRARY = ("coscale.cli", "coscale.report", "coscale.resolve")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, absolute, including `from x import y` as both x and x.y."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package (files under src/coscale only)
                package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _hits(imports: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imports if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_the_walk_sees_the_packages() -> None:
    for package in LIBRARY:
        assert _files(package), package
    assert "coscale.report.console" in imported_modules(ROOT / "cli" / "predict_cmd.py")


@pytest.mark.parametrize("package", LIBRARY)
def test_library_never_imports_cli_or_presentation(package: str) -> None:
    bad = {str(p.relative_to(ROOT)): _hits(imported_modules(p), ABOVE_LIBRARY) for p in _files(package)}
    assert {k: v for k, v in bad.items() if v} == {}


def test_models_do_not_import_the_lab() -> None:
    bad = {str(p.relative_to(ROOT)): _hits(imported_modules(p), ("coscale.lab",)) for p in _files("models")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_presentation_does_not_import_the_cli() -> None:
    bad = {str(p.relative_to(ROOT)): _hits(imported_modules(p), ("coscale.cli",)) for p in _files("report")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_checker_catches_a_lazy_import(tmp_path: Path) -> None:
    f = tmp_path / "mod.py"
    f.write_text("def f():\n    from coscale.cli.console import make_console\n    import coscale.report.hardware\n")
    assert _hits(imported_modules(f), ABOVE_LIBRARY) == ["coscale.cli.console", "coscale.cli.console.make_console",
                                                          "coscale.report.hardware"]
