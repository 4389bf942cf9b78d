#!/usr/bin/env python3
"""man.py — writes sluice(1) in roff from the binary itself (`sluice --help`,
`sluice describe` for every connector and the pipeline block, so the option
tables cannot drift from the code) and from README.md (the introduction and
the Operations section). Used by `make deb`.

Usage: man.py SLUICE_BINARY README.md > sluice.1
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys


def esc(text: str) -> str:
    """roff-safe text: backslashes, and a leading . or ' that roff would read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def inline(text: str) -> str:
    """Markdown inline marks to roff fonts: `code` bold, [text](link) as text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    parts = re.split(r"(`[^`]*`)", text)
    return "".join("\\fB" + esc(p[1:-1]) + "\\fR" if p.startswith("`") and p.endswith("`") else esc(p)
                   for p in parts)


def verbatim(text: str) -> list[str]:
    return [".nf"] + [esc(line) for line in text.rstrip("\n").split("\n")] + [".fi"]


def markdown(md: str) -> list[str]:
    """The subset of Markdown the README uses: ### headings, paragraphs,
    fenced code, tables (one .TP per row) and - lists."""
    out: list[str] = []
    lines = md.split("\n")
    i = 0
    para: list[str] = []

    def flush():
        if para:
            out.extend([".PP", inline(" ".join(para))])
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.extend([".PP"] + verbatim("\n".join(lines[i + 1:j])))
            i = j + 1
            continue
        if line.startswith("### "):
            flush()
            out.append(".SS " + inline(line[4:]))
        elif line.startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            header = i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1].strip())
            if not header and not re.match(r"^[-: ]+$", cells[0]):
                out.extend([".TP", inline(cells[0]), inline(" \u2014 ".join(c for c in cells[1:] if c))])
        elif line.startswith("- "):
            flush()
            item = [line[2:]]
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                item.append(lines[i].strip())
            out.extend([".IP \\(bu 2", inline(" ".join(item))])
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return out


def section(md: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", md, re.S | re.M)
    if not m:
        sys.exit(f"man.py: README.md has no '## {title}' section")
    return m.group(1)


def run(binary: str, *args: str) -> str:
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def main():
    binary, readme = sys.argv[1], sys.argv[2]
    md = open(readme, encoding="utf-8").read()
    version = run(binary, "version").split()[-1]
    # reproducible: the date of the README's last change when SOURCE_DATE_EPOCH says so
    when = datetime.datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", os.path.getmtime(readme))),
                                           datetime.timezone.utc)
    intro = md.split("\n## ", 1)[0].split("\n", 1)[1]
    # no hyphenation, ragged right: option and metric names stay whole (and greppable)
    out = [f'.TH SLUICE 1 "{when:%Y-%m-%d}" "sluice {version}" "User Commands"', ".nh", ".ad l",
           ".SH NAME", "sluice \\- change data capture pipelines from MySQL/MariaDB and PostgreSQL",
           ".SH SYNOPSIS",
           ".B sluice", "[\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR] [\\fB\\-\\-log\\-format\\fR text|json] "
           "[\\fB\\-\\-log\\-file\\fR \\fIPATH\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIpipeline.yaml\\fR]",
           ".SH DESCRIPTION"]
    out += markdown(intro)
    out += [".SH COMMANDS AND OPTIONS"] + verbatim(run(binary, "--help"))
    for cmd in ("run", "migrate", "check", "status"):
        out += [".SS sluice " + cmd] + verbatim(run(binary, cmd, "--help"))
    out += [".SH PIPELINE OPTIONS"] + verbatim(run(binary, "describe", "pipeline"))
    listing = run(binary, "describe")
    out += [".SH CONNECTORS"] + verbatim(listing)
    names = [m.group(1) for m in re.finditer(r"^  (\S+)\s", listing, re.M) if m.group(1) != "pipeline"]
    for name in dict.fromkeys(names):
        out += [".SS " + esc(name)] + verbatim(run(binary, "describe", name))
    out += [".SH OPERATIONS"] + markdown(section(md, "Operations"))
    out += [".SH FILES",
            ".TP", "\\fI/etc/sluice/NAME.yaml\\fR",
            "The pipeline the systemd unit \\fBsluice@NAME.service\\fR runs.",
            ".TP", "\\fI/etc/sluice/NAME.env\\fR",
            "Optional environment (VAR=value lines) for that pipeline's \\fB${env:VAR}\\fR secrets.",
            ".TP", "\\fI/lib/systemd/system/sluice@.service\\fR",
            "Type=notify (READY=1 once source and sink are up), Restart=on-failure, not after exit status 2.",
            ".TP", "\\fI/usr/share/doc/sluice/\\fR", "The README and example pipelines.",
            ".SH EXIT STATUS", "0 on success, 1 on a runtime failure, 2 on a usage or configuration error.",
            ".SH SEE ALSO", "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), /usr/share/doc/sluice/README.md.gz"]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
