"""Render notebooks/figures/NAME.svg to NAME.png (twice the SVG's size), for front ends that draw no SVG attachment.

JupyterLab 3 draws a markdown attachment only as bmp/png/jpeg/gif/webp, and only its first mime type
("Cannot render unknown image mime type image/svg+xml"), so notebooks/build.py embeds the PNG first and the
SVG beside it. Run this after editing an SVG, then rebuild the notebook. Needs Playwright and Chromium
(requirements-test.txt; Debian's chromium at /usr/bin/chromium).

Usage: python scripts/render_figures.py [notebooks/figures/NAME.svg ...]
"""
import sys
from pathlib import Path

FIGURES = Path(__file__).resolve().parent.parent / "notebooks" / "figures"


def main(paths):
    from playwright.sync_api import sync_playwright

    paths = [Path(p) for p in paths] or sorted(FIGURES.glob("*.svg"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        page = browser.new_page(device_scale_factor=2)
        for svg in paths:
            page.set_content(f"<html><body style='margin:0'>{svg.read_text()}</body></html>")
            page.locator("svg").first.screenshot(path=str(svg.with_suffix(".png")))
            print(f"{svg.name} -> {svg.with_suffix('.png').name}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
