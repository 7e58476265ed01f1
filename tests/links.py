#!/usr/bin/env python3
"""Checks the links of README.md and docs/*.md: every relative link names a file of the
repository, and every #anchor a heading of the page it points to (GitHub's slugs). Links to
other sites are listed, not fetched: CI has no network beyond the package registries.

Usage: tests/links.py [ROOT]  (exit 1 with one line per broken link)
"""
import re
import sys
from pathlib import Path

LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*```")


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose(path):
    """The page's lines outside fenced code blocks."""
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield line


def anchors(path):
    seen = {}
    out = set()
    for line in prose(path):
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def check(root):
    pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    broken, external = [], 0
    for page in pages:
        for number, line in enumerate(prose(page), 1):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    external += 1
                    continue
                file_part, _, anchor = target.partition("#")
                dest = (page.parent / file_part).resolve() if file_part else page
                if not dest.exists():
                    broken.append(f"{page.relative_to(root)}: {target}: no such file")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    broken.append(f"{page.relative_to(root)}: {target}: no such heading")
    return pages, broken, external


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent).resolve()
    pages, broken, external = check(root)
    for b in broken:
        print(b)
    print(f"links: {len(pages)} pages, {len(broken)} broken, {external} external (not fetched)")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
