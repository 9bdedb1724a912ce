"""The classroom: one source notebook gives the teacher edition (solutions) and the student edition (stubs).

The source notebooks are the teacher edition. Each exercise is a task (markdown, with the solution in a collapsed
`<details><summary>Solution</summary>` block), an answer cell whose solution sits between nbgrader's
`### BEGIN SOLUTION` and `### END SOLUTION`, and a check cell that prints PASS or NOT YET and ends with a hidden
test (`assert passed`) between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS`, so nbgrader's autograde gives
zero points for a failed check while students only see the printed hint.

- mark(nb): adds those markers and nbgrader's cell metadata (idempotent; scripts/mark_exercises.py);
- student(nb): the student edition (notebooks/build.py --student), the same as nbgrader's release;
- configure_nbgrader(c): makes `nbgrader generate_assignment` write the same stubs (call it in nbgrader_config.py).

Stubs: the solution is replaced by placeholders for the names the check uses (`answer = ...`) and a
`raise NotImplementedError(hint)`; a function the check calls keeps its `def` line and raises inside. The checks
(aeteach.exercises) answer "NOT YET: not done yet" to a placeholder or a function that raises NotImplementedError.
This module needs no nbgrader; only configure_nbgrader imports it.
"""
import ast
import copy
import re

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_TESTS, END_TESTS = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_TESTS = f"{BEGIN_TESTS}\nassert passed\n{END_TESTS}"
CHECK_CALL = re.compile(r"\bex\.check_\w+\(")
DETAILS = re.compile(r"\n*<details>\s*<summary>\s*Solution\s*</summary>.*?</details>[ \t]*", re.S | re.I)
ANSWER_COMMENT = re.compile(r"^(\s*# Your answer here)\s*\(the cell holds one solution[^)]*\)", re.M)
KEEP_LINE = re.compile(r"^\s*(# Your answer here|from aeteach\.exercises import )")  # stays outside the solution


def exercises(nb):
    """[(title, answer cell index, check cell index)]: a check cell calls ex.check_...; its answer is the code cell before it."""
    found, title = [], None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":  # the last "Exercise N" or "Question" heading so far names the exercise
            for heading in re.findall(r"^#{2,4}\s+(.*)$", cell.source, re.M):
                name = re.search(r"\b(exercise\s*\d+|question\s*\d*)", heading, re.I)
                title = name.group(1).strip().capitalize() if name else title
        elif i and CHECK_CALL.search(cell.source) and nb.cells[i - 1].cell_type == "code" \
                and not CHECK_CALL.search(nb.cells[i - 1].source):
            found.append((title or f"Exercise {len(found) + 1}", i - 1, i))
            title = None
    return found


def _region(source, begin=BEGIN, end=END):
    """(lines before, lines inside, lines after) the marked region of source, or None when it has none."""
    lines = source.split("\n")
    starts = [i for i, l in enumerate(lines) if begin in l]
    if not starts:
        return None
    a = starts[0]
    b = next(i for i in range(a, len(lines)) if end in lines[i])
    return lines[:a], lines[a + 1:b], lines[b + 1:]


def _names(source, ctx):
    """Top-level names source binds (ctx='store', in order) or any names it reads (ctx='load')."""
    tree = ast.parse(source)
    if ctx == "load":
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    out = []

    def visit(node):  # names bound in this scope: not inside a function, class, lambda or comprehension
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.append(node.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
                             ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for node in tree.body:
        visit(node)
    return list(dict.fromkeys(out))


def stub(solution, check_source, title):
    """The student's starting point for a solution: placeholders for what the check reads, and a hint that raises."""
    used = _names(check_source, "load")
    lines, tree = solution.split("\n"), ast.parse(solution)
    out, functions = [], []
    for node in tree.body:  # a function the check calls: its def line (and docstring), raising inside
        if isinstance(node, ast.FunctionDef) and node.name in used:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            body = node.body[0]
            has_doc = isinstance(body, ast.Expr) and isinstance(getattr(body, "value", None), ast.Constant) \
                and isinstance(body.value.value, str)
            last = body.end_lineno if has_doc else body.lineno - 1
            indent = re.match(r"\s*", lines[body.lineno - 1]).group(0)
            out += lines[first - 1:last]
            hint = f"{title}: not done yet. Write the body of {node.name} (see the task above), then run the check below"
            out.append(f"{indent}raise NotImplementedError({hint!r})")
            functions.append(node.name)
    values = [n for n in _names(solution, "store") if n in used and n not in functions]
    # a name the check cell does more with than pass it (model4.cpu()) gets `todo`, which absorbs that; others get ...
    held = {n.value.id for n in ast.walk(ast.parse(check_source)) if isinstance(n, (ast.Attribute, ast.Subscript, ast.Call))
            and isinstance(getattr(n, "value", None), ast.Name)}
    held |= {n.func.id for n in ast.walk(ast.parse(check_source)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    plain, absorbing = [n for n in values if n not in held], [n for n in values if n in held]
    if absorbing:
        out += ["from aeteach.exercises import todo", f"{' = '.join(absorbing)} = todo  # replace todo with your answer"]
    if plain:
        out.append(f"{' = '.join(plain)} = ...  # replace ... with your answer")
    if values or not out:
        what = f"set {', '.join(values)}" if values else "write your answer"
        hint = f"{title}: not done yet. In this cell, {what} (see the task above), then run the check below"
        out.append(f"raise NotImplementedError({hint!r})")
    return "\n".join(out)


def _nbgrader(cell, grade_id, solution):
    meta = cell.metadata.setdefault("nbgrader", {})
    grade_id = meta.get("grade_id", grade_id)  # stable: an id, once given, stays
    meta.clear()
    meta.update(grade=not solution, grade_id=grade_id, locked=not solution, schema_version=3, solution=solution, task=False)
    if not solution:
        meta["points"] = cell.metadata.get("aeteach", {}).get("points", 1)


def mark(nb):
    """Add solution markers, hidden tests and nbgrader metadata to every exercise of nb (in place; idempotent)."""
    for k, (title, a, c) in enumerate(exercises(nb), 1):
        answer, check = nb.cells[a], nb.cells[c]
        if _region(answer.source) is None:
            lines = answer.source.rstrip("\n").split("\n")
            n = 0
            while n < len(lines) and KEEP_LINE.match(lines[n]):
                n += 1
            answer.source = "\n".join(lines[:n] + [BEGIN] + lines[n:] + [END])
        head, solution, tail = _region(answer.source)
        answer.metadata.setdefault("aeteach", {})["stub"] = stub("\n".join(solution), check.source, title)
        _nbgrader(answer, f"exercise{k}_answer", solution=True)
        if _region(check.source, BEGIN_TESTS, END_TESTS) is None:
            # a bare `ex.check_...(...)` becomes `passed = ex.check_...(...)`, so the hidden test can assert it
            source = re.sub(r"^(ex\.check_\w+\()", r"passed = \1", check.source.rstrip("\n"), flags=re.M)
            check.source = f"{source}\n{HIDDEN_TESTS}"
        _nbgrader(check, f"exercise{k}_check", solution=False)
    return nb


def student_source(cell):
    """The student edition of one cell's source (solutions replaced by the cell's stub, hidden tests and <details> removed)."""
    source = cell.source
    if cell.cell_type == "markdown":
        return DETAILS.sub("", source)
    if cell.cell_type != "code":
        return source
    region = _region(source)
    if region:
        head, _, tail = region
        indent = re.match(r"\s*", source.split("\n")[len(head)]).group(0)
        text = cell.metadata.get("aeteach", {}).get("stub") or 'raise NotImplementedError("write your answer here")'
        source = "\n".join(head + [indent + l for l in text.split("\n")] + tail)
    tests = _region(source, BEGIN_TESTS, END_TESTS)
    if tests:
        head, _, tail = tests
        source = "\n".join(head + tail).rstrip("\n")
    return ANSWER_COMMENT.sub(r"\1", source)


def student(nb):
    """The student edition of nb (a copy): every solution replaced by its stub, outputs cleared, the rest identical."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.source = student_source(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def solution_lines(nb):
    """Lines found only inside the solutions of nb (solution regions, hidden tests, <details> blocks), stripped:
    not the lines that the task text or a stub also shows (a `def` line, a given `xa = test.x[:1]`)."""
    inside, outside = set(), []
    for cell in nb.cells:
        source = cell.source
        for begin, end in ((BEGIN, END), (BEGIN_TESTS, END_TESTS)):
            while (region := _region(source, begin, end)) is not None:
                inside.update(region[1])
                source = "\n".join(region[0] + region[2])
        for block in DETAILS.findall(source):
            inside.update(block.split("\n"))
        outside += [DETAILS.sub("", source), cell.metadata.get("aeteach", {}).get("stub", "")]
    outside = "\n".join(outside)
    lines = {l.strip() for l in inside} - {"</details>", "```python", "```", "<details><summary>Solution</summary>"}
    return {l for l in lines if len(l) > 3 and l not in outside}


def configure_nbgrader(c):
    """Make nbgrader generate_assignment release this module's student edition (call from nbgrader_config.py)."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import ClearSolutions

    class ClearSolutionsWithStubs(ClearSolutions):
        """nbgrader's ClearSolutions, with each answer cell's own stub and the <details> solutions removed."""

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "markdown":
                cell.source = DETAILS.sub("", cell.source)
            language, default = resources["language"], self.code_stub
            own = cell.metadata.get("aeteach", {}).get("stub")
            if own:
                self.code_stub = dict(default, **{language: own})
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            finally:
                self.code_stub = default
            if cell.cell_type == "code":
                cell.source = ANSWER_COMMENT.sub(r"\1", cell.source)
            return cell, resources

    default = GenerateAssignment.class_traits()["preprocessors"].default()
    c.GenerateAssignment.preprocessors = [ClearSolutionsWithStubs if p is ClearSolutions else p for p in default]
    c.Execute.timeout = 300
    return c


HEADING = re.compile(r"^(#{1,4})\s")


def slide_types(nb):
    """Lecture mode: each cell's reveal.js / RISE slide type, one idea per slide.

    A title or section (# or ##) opens a slide, a ### or #### heading a subslide (down), prose after code a subslide
    (the next step); code stays with the prose above it; the setup cell is a subslide of its own (a live slideshow
    must run it, a static one shows what it prints).
    """
    types, previous = [], None
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
    for i, cell in enumerate(nb.cells):
        heading = HEADING.match(cell.source) if cell.cell_type == "markdown" else None
        if i == first_code:
            kind = "subslide"
        elif heading:
            kind = "slide" if len(heading.group(1)) <= 2 else "subslide"
        elif cell.cell_type == "markdown" and previous == "code":
            kind = "subslide"
        else:
            kind = "-"
        types.append(kind)
        previous = cell.cell_type
    return types


def mark_slides(nb):
    """Write slide_types into each cell's metadata (idempotent; notebooks/build.py does it on every build)."""
    for cell, kind in zip(nb.cells, slide_types(nb)):
        cell.metadata["slideshow"] = {"slide_type": kind}
    return nb
