#!/usr/bin/env python3
"""Side-by-side benchmark: Pushdeck against Coveo's official JavaScript and Python clients.

For each tool it starts a fresh emulator (`pushdeck emulator`), then runs three jobs on the
same generated corpus and records what each cost:

  first     push the whole corpus
  rescan    run again with nothing changed (Pushdeck checks its state; the official clients
            have no change detection and push everything again)
  update    change 1% of the files and run again

Per job: wall time, CPU time (user + system, from the child's rusage), peak memory (the child's
maximum resident set), HTTP requests and bytes the emulator received (from its request log), and
whether the emulator ended with exactly the corpus (documentIds and SHA-256 of the content).

Results go to a Markdown table and an SVG chart; ratios against Pushdeck are the headline, since
the machines are shared and noisy. Only the standard library is used here.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pathlib
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
API_KEY = "xx-bench-0000-key"
ORG, SOURCE = "sandbox", "documents"

# Kinds of generated files: (extension, share of the corpus, generator).
TEXT_WORDS = (
    "policy search index coveo item folder permission group user document report budget "
    "meeting quarter review contract holiday travel expense security onboarding handbook"
).split()


def text_bytes(rng: random.Random, size: int) -> bytes:
    words = []
    total = 0
    while total < size:
        w = rng.choice(TEXT_WORDS)
        words.append(w)
        total += len(w) + 1
    return " ".join(words).encode()[:size]


def html_bytes(rng: random.Random, size: int) -> bytes:
    body = text_bytes(rng, max(size - 60, 10)).decode()
    return f"<html><head><title>t</title></head><body><p>{body}</p></body></html>".encode()


def docx_bytes(rng: random.Random, size: int) -> bytes:
    """An office file: a zip of XML, already compressed, like .docx."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + text_bytes(rng, size * 3) + b"</w:document>")
    return buf.getvalue()


def jpg_bytes(rng: random.Random, size: int) -> bytes:
    """Already-compressed media: incompressible bytes behind a JPEG header."""
    return b"\xff\xd8\xff\xe0" + rng.randbytes(max(size - 4, 0))


KINDS = [(".txt", 0.35, text_bytes), (".html", 0.25, html_bytes), (".docx", 0.2, docx_bytes), (".jpg", 0.2, jpg_bytes)]

# Office Open XML, shaped like what Word, Excel and PowerPoint write: the package parts every
# file has, and a main part of realistic, repetitive XML (runs, cells, shapes) around words.
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/{main}" ContentType="application/vnd.openxmlformats-officedocument.{kind}.main+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{main}"/>'
    "</Relationships>"
)
CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title>'
    "<dc:creator>Bench</dc:creator><cp:revision>{rev}</cp:revision>"
    '<dcterms:modified xsi:type="dcterms:W3CDTF">2024-03-0{day}T10:00:00Z</dcterms:modified></cp:coreProperties>'
)
APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Office</Application><TotalTime>{rev}</TotalTime></Properties>"
)


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(TEXT_WORDS) for _ in range(n))


def word_xml(rng: random.Random, size: int) -> bytes:
    paras, total = [], 0
    while total < size:
        runs = "".join(
            f'<w:r><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/><w:sz w:val="{rng.choice((20, 22, 24))}"/>'
            f'</w:rPr><w:t xml:space="preserve">{_words(rng, rng.randint(3, 12))} </w:t></w:r>'
            for _ in range(rng.randint(1, 4))
        )
        p = f'<w:p w:rsidR="00{rng.randrange(16**6):06X}"><w:pPr><w:pStyle w:val="Normal"/></w:pPr>{runs}</w:p>'
        paras.append(p)
        total += len(p)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + "".join(paras)
        + "</w:body></w:document>"
    ).encode()


def sheet_xml(rng: random.Random, size: int) -> bytes:
    rows, total, r = [], 0, 0
    while total < size:
        r += 1
        cells = "".join(
            f'<c r="{col}{r}" s="1"><v>{rng.randint(0, 99999)}</v></c>' if col != "A" else
            f'<c r="A{r}" t="inlineStr"><is><t>{_words(rng, 2)}</t></is></c>'
            for col in "ABCDEF"
        )
        row = f'<row r="{r}" spans="1:6">{cells}</row>'
        rows.append(row)
        total += len(row)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + "".join(rows)
        + "</sheetData></worksheet>"
    ).encode()


def slide_xml(rng: random.Random, size: int) -> bytes:
    shapes, total, n = [], 0, 0
    while total < size:
        n += 1
        sp = (
            f'<p:sp><p:nvSpPr><p:cNvPr id="{n + 1}" name="TextBox {n}"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>'
            f'<p:spPr><a:xfrm><a:off x="{rng.randrange(9000000)}" y="{rng.randrange(6000000)}"/>'
            f'<a:ext cx="4000000" cy="600000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>'
            f'<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US" sz="1800"/>'
            f"<a:t>{_words(rng, rng.randint(3, 10))}</a:t></a:r></a:p></p:txBody></p:sp>"
        )
        shapes.append(sp)
        total += len(sp)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree>'
        + "".join(shapes)
        + "</p:spTree></p:cSld></p:sld>"
    ).encode()


OFFICE = {
    ".docx": ("word/document.xml", "wordprocessingml.document", word_xml),
    ".xlsx": ("xl/worksheets/sheet1.xml", "spreadsheetml.sheet", sheet_xml),
    ".pptx": ("ppt/slides/slide1.xml", "presentationml.slide", slide_xml),
}


def office_zip(rng: random.Random, size: int, ext: str, method: int) -> bytes:
    """An Office Open XML package whose main part holds about `size` bytes of XML, its entries
    stored with `method` (ZIP_DEFLATED as Office writes them, or ZIP_STORED)."""
    main, kind, make = OFFICE[ext]
    rev = rng.randint(1, 9)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main, kind=kind))
        z.writestr("_rels/.rels", RELS.format(main=main))
        z.writestr("docProps/core.xml", CORE.format(title=_words(rng, 3), rev=rev, day=rev))
        z.writestr("docProps/app.xml", APP.format(rev=rev))
        z.writestr(main, make(rng, size))
    return buf.getvalue()


def office_kind(ext: str, method: int):
    # Deflated, the XML shrinks about fivefold: four times the size of XML makes a file near `size`.
    scale = 4 if method == zipfile.ZIP_DEFLATED else 1
    return lambda rng, size: office_zip(rng, size * scale, ext, method)


def stored_zip_bytes(rng: random.Random, size: int) -> bytes:
    """A plain .zip of text files whose entries are STORED (no compression inside)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        left, n = size, 0
        while left > 0 or n == 0:
            part = min(left, max(1000, size // 4))
            z.writestr(f"notes/part{n}.txt", text_bytes(rng, max(part, 16)))
            left -= part
            n += 1
    return buf.getvalue()


# The corpora `--corpus` chooses: (extension, share, generator). "mixed" is the default and
# the corpus of every earlier figure.
CORPORA = {
    "mixed": KINDS,
    "office": [(ext, 1 / 3, office_kind(ext, zipfile.ZIP_DEFLATED)) for ext in OFFICE],
    "stored": [
        (".docx", 0.25, office_kind(".docx", zipfile.ZIP_STORED)),
        (".xlsx", 0.25, office_kind(".xlsx", zipfile.ZIP_STORED)),
        (".zip", 0.5, stored_zip_bytes),
    ],
}


def generate_corpus(root: pathlib.Path, count: int, mean_size: int, seed: int, corpus: str = "mixed") -> None:
    rng = random.Random(seed)
    kinds = CORPORA[corpus]
    for i in range(count):
        r = rng.random()
        acc = 0.0
        for ext, share, make in kinds:
            acc += share
            if r <= acc:
                break
        size = max(16, int(rng.expovariate(1 / mean_size)))
        folder = root / f"dept{i % 10}" / f"team{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc{i:06d}{ext}").write_bytes(make(rng, size))


def touch_one_percent(root: pathlib.Path, seed: int) -> int:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    rng = random.Random(seed + 1)
    chosen = rng.sample(files, max(1, len(files) // 100))
    for p in chosen:
        with p.open("ab") as f:
            f.write(b" updated")
    return len(chosen)


def expected_items(root: pathlib.Path) -> dict[str, str]:
    return {
        p.absolute().as_uri(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


class Emulator:
    def __init__(self, pushdeck: pathlib.Path):
        self.proc = subprocess.Popen(
            [str(pushdeck), "emulator", "--api-key", API_KEY],
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self.proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise SystemExit(f"the emulator did not start: {first!r}")
        self.url = first.removeprefix("listening on ")

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path) as r:
            return json.load(r)

    def post(self, path: str, body: dict | None = None):
        req = urllib.request.Request(self.url + path, data=json.dumps(body or {}).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req) as r:
            return r.read()

    def clear_requests(self) -> None:
        req = urllib.request.Request(self.url + "/_emulator/v1/requests", method="DELETE")
        with urllib.request.urlopen(req) as r:
            r.read()

    def requests(self) -> list[dict]:
        # The log keeps the last 20,000 requests (inspection calls excluded); it is cleared
        # before each job, so everything in it belongs to that job.
        log = self.get("/_emulator/v1/requests?limit=20000")
        entries = log["requests"]
        if len(entries) >= 20000:
            raise SystemExit("the request log is full (20,000 entries): counts would be wrong")
        return entries

    def items(self) -> dict[str, str]:
        self.post("/_emulator/v1/drain")
        data = self.get(f"/_emulator/v1/organizations/{ORG}/sources/{SOURCE}/items")
        items = data.get("items", data) if isinstance(data, dict) else data
        return {it["documentId"]: it["contentSha256"] for it in items if it.get("state", "INDEXED") == "INDEXED"}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


RUSAGE_MARK = "BENCH_RUSAGE"


def run_measured(cmd: list[str], env: dict[str, str], cwd: pathlib.Path | None = None) -> dict:
    """Runs `cmd` under GNU time, which reports the tool's own CPU time and peak resident set.

    Not os.wait4 on our own child: the child starts as a (v)fork of this Python process, whose
    memory holds the emulator's items JSON, and Linux carries the pre-exec peak into
    ru_maxrss, so every tool would show this script's peak. GNU time forks the tool from its
    own small process instead.
    """
    timed = ["/usr/bin/time", "-f", f"{RUSAGE_MARK} %U %S %M", *cmd]
    start = time.perf_counter()
    proc = subprocess.run(timed, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}:\n{err[-2000:]}")
    line = next((l for l in reversed(err.splitlines()) if l.startswith(RUSAGE_MARK)), None)
    if line is None:
        raise SystemExit(f"GNU time printed no figures for {cmd[0]}:\n{err[-2000:]}")
    _, user, system, max_kb = line.split()
    return {"wall_s": wall, "cpu_s": float(user) + float(system), "peak_mb": int(max_kb) / 1024}


def body_bytes(entry: dict) -> int:
    # Request body bytes as the emulator counted them (JSON bodies and file container uploads).
    return int(entry.get("bodySize") or 0)


def tools(args, corpus: pathlib.Path, state: pathlib.Path) -> dict[str, callable]:
    base_env = {k: v for k, v in os.environ.items() if k != "COVEO_API_KEY"}
    base_env["COVEO_API_KEY"] = API_KEY

    def pushdeck(url: str, binary: pathlib.Path | None = None) -> list[str]:
        return [str(binary or args.pushdeck), "sync", str(corpus), "--once", "--org", ORG, "--source", SOURCE,
                "--api-url", url, "--quiet"]

    def js(url: str) -> list[str]:
        return ["node", str(ROOT / "bench/official-js/push.mjs"), "--folder", str(corpus), "--origin", url,
                "--org", ORG, "--source", SOURCE]

    def py(url: str) -> list[str]:
        return [str(args.python), str(ROOT / "bench/official-py/push.py"), "--folder", str(corpus),
                "--origin", url, "--org", ORG, "--source", SOURCE]

    # Pushdeck's configuration, data folder and state store all inside the run's temp folder:
    # the platform folders follow HOME/XDG_*, and PUSHDECK_CONFIG/PUSHDECK_STATE name the files.
    env_pushdeck = dict(
        base_env,
        HOME=str(state / "home"),
        XDG_CONFIG_HOME=str(state / "config"),
        XDG_DATA_HOME=str(state / "data"),
        PUSHDECK_CONFIG=str(state / "config" / "config.toml"),
        PUSHDECK_STATE=str(state / "state.sqlite3"),
    )
    out = {
        "pushdeck": (pushdeck, env_pushdeck),
        "official JS client": (js, base_env),
        "official Python client": (py, base_env),
    }
    if args.pushdeck_before:
        # An earlier build of Pushdeck, side by side with this one (same isolation).
        out["pushdeck before"] = (lambda url: pushdeck(url, args.pushdeck_before), env_pushdeck)
    return out


def median(values: list[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def combine(runs: list[dict]) -> dict:
    """One row from the same (tool, job) measured in several runs: the median of each figure,
    every wall time and load average kept beside it."""
    row = dict(runs[0])
    for k in ("wall_s", "cpu_s", "peak_mb", "sent_mb", "requests", "load1"):
        row[k] = median([r[k] for r in runs])
    row["runs"] = len(runs)
    row["wall_all"] = [round(r["wall_s"], 2) for r in runs]
    row["load_all"] = [round(r["load1"], 2) for r in runs]
    row["exact"] = all(r["exact"] for r in runs)
    return row


def bench(args) -> list[dict]:
    """Runs every tool `args.runs` times, the tools in turn within each run (so a noisy spell
    of the shared machine hits them alike), and returns one row per (tool, job): medians."""
    measured: dict[tuple[str, str], list[dict]] = {}
    for run in range(args.runs):
        for row in bench_once(args, run):
            measured.setdefault((row["tool"], row["job"]), []).append(row)
    return [combine(rows) for rows in measured.values()]


def bench_once(args, run: int) -> list[dict]:
    work = pathlib.Path(tempfile.mkdtemp(prefix="pushdeck-bench-"))
    rows = []
    try:
        pristine = work / "pristine"
        generate_corpus(pristine, args.count, args.mean_size, args.seed, args.corpus)
        corpus_bytes = sum(p.stat().st_size for p in pristine.rglob("*") if p.is_file())
        args.corpus_mb = corpus_bytes / 1e6
        print(f"run {run + 1}/{args.runs}, corpus {args.corpus}: {args.count} files, {corpus_bytes / 1e6:.1f} MB",
              file=sys.stderr)
        for name, (cmd, env) in tools(args, work / "corpus", work / "state").items():
            if name not in args.tools:
                continue
            corpus = work / "corpus"
            shutil.rmtree(corpus, ignore_errors=True)
            shutil.rmtree(work / "state", ignore_errors=True)
            shutil.copytree(pristine, corpus)
            emu = Emulator(args.pushdeck)
            try:
                for job in args.jobs:
                    if job == "update":
                        touch_one_percent(corpus, args.seed)
                    (work / "state").mkdir(parents=True, exist_ok=True)
                    emu.clear_requests()
                    # The machines are shared: the 1-minute load average just before the run
                    # says how busy the machine was, so a figure can be read (or set aside).
                    load1 = os.getloadavg()[0]
                    m = run_measured(cmd(emu.url), env)
                    new = emu.requests()
                    exact = emu.items() == expected_items(corpus)
                    if job == "first" and not new:
                        raise SystemExit(f"{name} sent no request to the emulator: it is not pointed at it")
                    sent_mb = sum(map(body_bytes, new)) / 1e6
                    rows.append(dict(tool=name, job=job, corpus=args.corpus, load1=load1, requests=len(new),
                                     sent_mb=sent_mb, exact=exact, **m))
                    print(f"{name:24} {job:7} {m['wall_s']:8.2f}s sent {sent_mb:8.2f}MB cpu {m['cpu_s']:7.2f}s "
                          f"peak {m['peak_mb']:7.1f}MB req {len(new):6} load {load1:5.2f} exact {exact}",
                          file=sys.stderr)
            finally:
                emu.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def markdown(rows: list[dict], args) -> str:
    base = {(r["job"]): r for r in rows if r["tool"] == "pushdeck"}
    runs = getattr(args, "runs", 1)
    lines = [
        f"Corpus {args.corpus!r}: {args.count} files ({getattr(args, 'corpus_mb', 0):.1f} MB), "
        f"mean size {args.mean_size} bytes, seed {args.seed}. "
        f"Machine: {platform.platform()}, {os.cpu_count()} cores. "
        + (f"Medians of {runs} runs (tools in turn within each run); " if runs > 1 else "")
        + "load: the 1-minute load average just before each run.",
        "",
        "| tool | job | wall s | × pushdeck | MB sent | × pushdeck | CPU s | × pushdeck | peak MB | requests | wall s, each run | load, each run | exact corpus |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|:---:|",
    ]
    for r in rows:
        b = base.get(r["job"])
        ratio = lambda k: f"{r[k] / b[k]:.2f}" if b and b[k] > 0 else "–"
        each = lambda k: " ".join(f"{v:.2f}" for v in r[k])
        lines.append(
            f"| {r['tool']} | {r['job']} | {r['wall_s']:.2f} | {ratio('wall_s')} | {r['sent_mb']:.2f} | "
            f"{ratio('sent_mb')} | {r['cpu_s']:.2f} | {ratio('cpu_s')} | {r['peak_mb']:.0f} | {r['requests']:.0f} | "
            f"{each('wall_all')} | {each('load_all')} | {'yes' if r['exact'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def svg_chart(rows: list[dict]) -> str:
    """A grouped bar chart of wall time per job and tool, drawn by hand (no plotting library)."""
    jobs = ["first", "rescan", "update"]
    names = list(dict.fromkeys(r["tool"] for r in rows))
    colors = ["#268bd2", "#cb4b16", "#859900", "#6c71c4"]
    top = max((r["wall_s"] for r in rows), default=1) or 1
    w, h, pad, bar, legend = 820, 300, 40, 36, 200
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 60}" font-family="sans-serif" font-size="12">',
           f'<text x="{pad}" y="18">Wall time in seconds (lower is better)</text>']
    for j, job in enumerate(jobs):
        gx = pad + j * (w - pad - legend) / len(jobs)
        out.append(f'<text x="{gx + 10}" y="{h + 45}">{job}</text>')
        for t, name in enumerate(names):
            r = next((r for r in rows if r["tool"] == name and r["job"] == job), None)
            if not r:
                continue
            bh = (h - 40) * r["wall_s"] / top
            x, y = gx + t * (bar + 4), h + 25 - bh
            out.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{bar}" height="{bh:.0f}" fill="{colors[t % 4]}"/>')
            out.append(f'<text x="{x:.0f}" y="{y - 3:.0f}">{r["wall_s"]:.1f}</text>')
    for t, name in enumerate(names):
        out.append(f'<rect x="{w - legend + 10}" y="{30 + t * 16}" width="10" height="10" fill="{colors[t % 4]}"/>'
                   f'<text x="{w - legend + 25}" y="{39 + t * 16}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--mean-size", type=int, default=20_000)
    p.add_argument("--smoke", action="store_true", help="60 files of about 4 KB: checks the harness, measures nothing")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--corpus", choices=sorted(CORPORA), default="mixed",
                   help="mixed: text, HTML, .docx and .jpg (the default); office: .docx/.xlsx/.pptx "
                        "packages with DEFLATED entries, as Office writes them; stored: .docx/.xlsx "
                        "and .zip files whose entries are STORED (uncompressed text inside)")
    p.add_argument("--pushdeck", type=pathlib.Path, default=ROOT / "target/release/pushdeck")
    p.add_argument("--python", type=pathlib.Path, default=pathlib.Path(sys.executable))
    p.add_argument("--pushdeck-before", type=pathlib.Path,
                   help="an earlier pushdeck binary, measured as the tool 'pushdeck before' (add it to --tools)")
    p.add_argument("--tools", nargs="*", default=["pushdeck", "official JS client", "official Python client"])
    p.add_argument("--runs", type=int, default=1,
                   help="run every tool this many times (tools in turn within a run); figures are medians")
    p.add_argument("--jobs", nargs="*", default=["first", "rescan", "update"], choices=["first", "rescan", "update"],
                   help="which jobs to run, in order (update changes 1%% of the files first)")
    p.add_argument("--out", type=pathlib.Path, help="write the table and chart beside this Markdown file")
    args = p.parse_args()
    if args.smoke:
        args.count, args.mean_size = 60, 4_000
    rows = bench(args)
    table = markdown(rows, args)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        (args.out.with_suffix(".json")).write_text(json.dumps(rows, indent=2))
        (args.out.parent / (args.out.stem + "-table.md")).write_text(table)
        (args.out.parent / "benchmarks.svg").write_text(svg_chart(rows))
    return 0 if all(r["exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
