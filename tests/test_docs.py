"""The documentation: README.md stays short and keeps the two commands a new
user runs, every relative link in README.md and docs/*.md leads to a file
(and heading) that exists, and no code cites the private API notes."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
DOCS = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))

# Pages other branches add.  The lead removes each entry once that page is
# merged, so that a missing page fails this test from then on.
NOT_YET_MERGED = set()  # every linked page exists

COMMANDS = (
    "tests/deps.sh && meson setup build && ninja -C build && tests/demo.sh",
    "tests/deps.sh && tests/run",
)

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def without_code(text):
    """Markdown outside fenced code blocks (links there are not links)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def slug(heading):
    """The anchor GitHub gives a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*$", without_code(read(path)), flags=re.M):
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else "%s-%d" % (s, n))
    return out


def relative_links(path):
    for target in LINK.findall(without_code(read(path))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        yield target


def test_readme_is_under_20_kb():
    size = os.path.getsize(README)
    assert size < 20000, "README.md is %d bytes; move detail to docs/" % size


def test_readme_keeps_the_two_commands_verbatim():
    text = read(README)
    for cmd in COMMANDS:
        assert cmd in text, "README.md lost the command: " + cmd


def test_docs_exist():
    names = {os.path.basename(p) for p in DOCS}
    for want in ("SEMANTICS.md", "ARCHITECTURE.md", "TESTING.md", "TROUBLESHOOTING.md",
                 "QLIK-API.md", "MOUNTING.md"):
        assert want in names, "docs/%s is missing" % want


def test_relative_links_lead_to_existing_files_and_headings():
    broken = []
    checked = 0
    for page in [README] + DOCS:
        for target in relative_links(page):
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(page), file_part)) \
                if file_part else page
            rel = os.path.relpath(dest, ROOT)
            where = "%s -> %s" % (os.path.relpath(page, ROOT), target)
            checked += 1
            if not os.path.exists(dest):
                if rel not in NOT_YET_MERGED:
                    broken.append(where + " (no such file)")
                continue
            if anchor and dest.endswith(".md") and anchor not in anchors(dest):
                broken.append(where + " (no such heading)")
    assert checked > 20, "found only %d links: is the link pattern still right?" % checked
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_readme_links_every_doc():
    text = read(README)
    for page in DOCS:
        rel = os.path.relpath(page, ROOT)
        assert "(%s)" % rel in text, "README.md does not link " + rel


def test_no_code_cites_the_private_api_notes():
    needle = "qlik-api" + ".md"  # (spelled so that this file does not match itself)
    hits = []
    for top in ("fs", "cache", "tests"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    text = read(path)
                except (UnicodeDecodeError, OSError):
                    continue
                for no, line in enumerate(text.splitlines(), 1):
                    if needle in line:
                        hits.append("%s:%d" % (os.path.relpath(path, ROOT), no))
    assert not hits, "cite docs/QLIK-API.md instead: " + ", ".join(hits)
