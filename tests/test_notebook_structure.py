"""What every notebook shares: one identical setup cell, one H1, and explorers only through aeteach.widgets."""
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9]*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_every_notebook_starts_with_the_same_setup_cell():
    setups = {p.name: "".join(next(c for c in cells(p) if c["cell_type"] == "code")["source"]) for p in NOTEBOOKS}
    assert len(NOTEBOOKS) >= 10 and len(set(setups.values())) == 1, sorted(setups)
    setup = next(iter(setups.values()))
    assert '"google.colab" in sys.modules' in setup and "torch.manual_seed(0)" in setup
    assert "ae.describe_device(device)" in setup  # students see the device and the precision it trains in


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_h1(path):
    h1 = [line for c in cells(path) if c["cell_type"] == "markdown"
          for line in "".join(c["source"]).splitlines() if line.startswith("# ")]
    assert len(h1) == 1, h1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_diagrams_are_embedded_as_the_committed_svg(path):
    # the notebook carries its diagrams (Colab opens one file); notebooks/build.py embeds notebooks/figures/NAME.svg
    import base64
    import re
    for cell in cells(path):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        for alt, name in re.findall(r"!\[([^\]]*)\]\(attachment:([\w.-]+)\)", source):
            assert len(alt) >= 20, f"{path.name}: {name} needs alt text that says what it shows"
            embedded = cell.get("attachments", {}).get(name, {}).get("image/svg+xml")
            assert embedded is not None, f"{path.name}: {name} is not embedded; run python notebooks/build.py {path}"
            embedded = "".join(embedded)  # nbformat may store it as a list of lines
            svg = (path.parent / "figures" / name).read_bytes()
            assert base64.b64decode(embedded) == svg, f"{path.name}: {name} differs from notebooks/figures; rebuild"
            # JupyterLab 3 draws only the first mime type of an attachment, and no SVG: a PNG must come first
            bundle = cell["attachments"][name]
            assert next(iter(bundle)) == "image/png", f"{path.name}: {name} needs its PNG first (scripts/render_figures.py)"
            png = (path.parent / "figures" / name.replace(".svg", ".png")).read_bytes()
            assert base64.b64decode("".join(bundle["image/png"])) == png, f"{path.name}: {name}'s PNG differs; rebuild"
