"""Screenshots of the leaderboard page and one entry page in headless Chromium, to look at.

    python scripts/screenshot_leaderboard.py [--out /tmp/leaderboard-shots] [--entry gns-mini-seed0]

Uses Playwright's Python API with Debian's chromium (no browser download). Prints the files written.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/leaderboard-shots"))
    parser.add_argument("--entry", default="gns-mini-seed0")
    parser.add_argument("--leaderboard", type=Path, default=REPO / "leaderboard")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto((args.leaderboard / "index.html").resolve().as_uri())
        page.screenshot(path=args.out / "leaderboard.png", full_page=True)
        page.click(f'tr[data-entry="{args.entry}"] a')
        page.wait_for_load_state("load")
        page.screenshot(path=args.out / f"entry-{args.entry}.png", full_page=True)
        browser.close()
    for path in sorted(args.out.glob("*.png")):
        print(path)


if __name__ == "__main__":
    main()
