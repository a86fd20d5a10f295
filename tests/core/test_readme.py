"""The README documents every environment variable the service reads."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = {
    "env_str",
    "env_bool",
    "env_int",
    "env_float",
    "env_list",
    "env_choice",
    "env_json",
    "env_url",
    "_ai_models",
}


def _is_os_environ_get(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "get"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "environ"
    )


def environment_variables() -> set[str]:
    names: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if {".venv", "tests", "bench", "node_modules"} & set(path.relative_to(ROOT).parts):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (
                    (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in READERS
                    or _is_os_environ_get(node.func)
                )
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names


def test_every_environment_variable_is_in_the_readme() -> None:
    names = environment_variables()
    assert "DATABASE_URL" in names
    assert len(names) > 50
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert missing == [], f"README.md does not document: {', '.join(missing)}"
