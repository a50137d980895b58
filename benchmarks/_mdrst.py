"""A small markdown -> reStructuredText converter for the benchmark sections.

It understands what the sections use: ``#`` headings, paragraphs, ``-`` bullet
lists, pipe tables, images on their own line (``![alt](path)``) and, inline,
code spans, ``**bold**``, ``*italic*`` and links. Anything else is kept as text
with reST's special characters escaped, so the output always builds.
"""

import re

_HEADING_CHARS = {1: "=", 2: "-", 3: "~", 4: "^", 5: '"'}
_INLINE = re.compile(
    r"(?P<code>`[^`]+`)"
    r"|(?P<bold>\*\*[^*]+\*\*)"
    r"|(?P<link>\[[^\]]+\]\([^)\s]+\))"
    r"|(?P<italic>(?<![\w*])\*[^*\s][^*]*\*(?![\w*]))"
)
_IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)\s*$")
_ESCAPE = re.compile(r"([\\*_`|])")


def _escape(text):
    return _ESCAPE.sub(r"\\\1", text)


def _inline(text):
    out = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(_escape(text[pos : m.start()]))
        tok = m.group(0)
        if m.group("code"):
            code = tok[1:-1]
            out.append("``" + code + "``" if "`" not in code else _escape(code))
        elif m.group("bold"):
            out.append("**" + tok[2:-2].replace("*", "") + "**")
        elif m.group("italic"):
            # reST cannot nest markup: code spans inside lose their backticks.
            out.append("*" + _escape(tok[1:-1].replace("`", "")) + "*")
        else:
            label, url = tok[1:].split("](", 1)
            out.append(f"`{_escape(label).replace('<', '')} <{url[:-1]}>`__")
        # reST inline markup must be followed by a non-word character
        nxt = text[m.end() : m.end() + 1]
        if nxt and (nxt.isalnum() or nxt in "_"):
            out.append("\\ ")
        prev = text[m.start() - 1 : m.start()]
        if prev and (prev.isalnum() or prev in "_"):
            out.insert(len(out) - 1, "\\ ")
        pos = m.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _table(lines):
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?|-+", c or "-") for c in cells):
            continue  # the |---|---| separator
        rows.append(cells)
    width = max(len(r) for r in rows)
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        row = row + [""] * (width - len(row))
        for j, cell in enumerate(row):
            text = _inline(cell) if cell else "\\ "
            out.append(("   * - " if j == 0 else "     - ") + text)
    return out


def markdown_to_rst(md, image_prefix=""):
    """Convert benchmark markdown to reST.

    ``image_prefix`` is stripped from image paths (e.g. ``"../docs/"`` turns
    RESULTS.md's ``../docs/_static/x.png`` into ``_static/x.png``).
    """
    lines = md.replace("\r\n", "\n").split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            out.append("")
            i += 1
            continue
        heading = re.match(r"^(#{1,5})\s+(.*)$", stripped)
        if heading:
            title = _inline(heading.group(2).strip())
            char = _HEADING_CHARS[len(heading.group(1))]
            out += ["", title, char * max(len(title), 4), ""]
            i += 1
            continue
        image = _IMAGE.match(stripped)
        if image:
            src = image.group("src")
            if image_prefix and src.startswith(image_prefix):
                src = src[len(image_prefix) :]
            out += ["", f".. image:: {src}", f"   :alt: {image.group('alt')}", ""]
            i += 1
            continue
        if stripped.startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            out += ["", *_table(block), ""]
            continue
        if re.match(r"^[-*]\s+", stripped):
            out.append("")
            while i < len(lines) and lines[i].strip():
                item = lines[i].strip()
                if re.match(r"^[-*]\s+", item):
                    out.append("- " + _inline(re.sub(r"^[-*]\s+", "", item)))
                else:
                    out.append("  " + _inline(item))
                i += 1
            out.append("")
            continue
        para = []
        while (
            i < len(lines)
            and lines[i].strip()
            and not re.match(r"^(#{1,5}\s|\||!\[|[-*]\s)", lines[i].strip())
        ):
            para.append(_inline(lines[i].strip()))
            i += 1
        out += ["", *para, ""]
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
