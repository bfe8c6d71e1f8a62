"""Drop `# fmt: skip` from ordinary code and keep it on tables, then let `ruff format .` lay the rest out.

    python scripts/cut_fmt_skip.py $(git grep -l "fmt: skip" -- '*.py') && ruff format .

A skipped statement stays skipped when it is a table: columns aligned with runs of spaces, or a literal of
four or more items over three or more lines with several items on a line. A compound statement's header
(a `def` split over lines) and every other statement are ordinary code and get ruff's layout.
"""

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

SKIP = re.compile(r"\s*\b")


def stmt_for_line(tree, line):
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.end_lineno == line:
            if best is None or node.lineno > best.lineno:
                best = node
    # the comment may also close a multi-line expression that is not a statement's end (e.g. an argument)
    if best is None:
        for node in ast.walk(tree):
            if isinstance(node, ast.expr) and node.end_lineno == line and node.lineno < line:
                if best is None or node.lineno < best.lineno:
                    best = node
    return best


def aligned(src_lines, start, end):
    text = "\n".join(src_lines[start - 1 : end])
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False
    prev = None
    for tok in toks:
        if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            prev = None
            continue
        if prev is not None and tok.start[0] == prev.end[0] and tok.type != tokenize.COMMENT:
            if tok.start[1] - prev.end[1] >= 2:
                return True
        prev = tok
    return False


def packed_literal(node):
    for sub in ast.walk(node):
        elts = None
        if isinstance(sub, (ast.List, ast.Tuple, ast.Set)):
            elts = sub.elts
        elif isinstance(sub, ast.Dict):
            elts = sub.values
        if elts and len(elts) >= 4:
            lines = [e.lineno for e in elts]
            if len(set(lines)) >= 3 and len(set(lines)) < len(lines):
                return True
    return False


def decide(path):
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    tree = ast.parse(src)
    drop = []
    for i, text in enumerate(lines, 1):
        if "" not in text:
            continue
        header = [
            n
            for n in ast.walk(tree)
            if isinstance(
                n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.With, ast.While)
            )
            and n.lineno <= i < n.body[0].lineno
        ]
        if header:  # a compound statement's header: ordinary code
            drop.append(i)
            continue
        node = stmt_for_line(tree, i)
        if node is None:
            continue
        if node.lineno == node.end_lineno:
            table = aligned(lines, node.lineno, node.end_lineno)
        else:
            table = aligned(lines, node.lineno, node.end_lineno) or packed_literal(node)
        if not table:
            drop.append(i)
    return drop


if __name__ == "__main__":
    total = kept = 0
    for name in sys.argv[1:]:
        path = Path(name)
        drop = decide(path)
        lines = path.read_text(encoding="utf-8").split("\n")
        n = sum("" in line for line in lines)
        total += n
        kept += n - len(drop)
        for i in drop:
            lines[i - 1] = SKIP.sub("", lines[i - 1])
        if drop:
            path.write_text("\n".join(lines), encoding="utf-8")
    print(f"fmt: skip {total} -> {kept}")
