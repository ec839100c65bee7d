#!/usr/bin/env python3
"""Regenerates the numbers of models/README.md from `hybridc report --json`.

    python3 models/make_table.py [--hybridc PATH] [--check] [--plot]

- rewrites the blocks between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in
  models/README.md (`table`: every model; `compare1b`: the 1B transformer against the 1B
  Mamba-2 stack, next to DESIGN.md's published relations);
- `--check`: also fails if a model file's header line
  `// hybridc report --context 8192 --batch 1: params P; forward FLOPs/token F.`
  disagrees with the report (and rewrites nothing);
- `--plot`: also writes docs/plots/sweep-1b.svg (`hybridc report ... --sweep`).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONTEXT = 8192
SWEEP = ",".join(str(1024 << i) for i in range(7))  # 1K .. 64K
SWEEP_1B = ["paper/1b-transformer.mlir", "paper/1b-mamba2.mlir", "paper/1b-inter-1to5.mlir",
            "paper/1b-intra-diff.mlir", "paper/1b-intra-concat.mlir"]
MIB = 1 << 20

FAMILY = {"transformer": "transformer", "mamba2": "Mamba-2", "mamba2-param-matched": "Mamba-2, param-matched", "inter-1to1": "inter 1:1",
          "inter-1to5": "inter 1:5", "intra-diff": "intra (group norm, diff)",
          "intra-concat": "intra (RMS, concat)", "intra": "intra (RMS, mean)",
          "nemotron-h-8b": "Nemotron-H (M / * / MLP)", "falcon-h1-0.5b": "Falcon-H1 (parallel)",
          "tiny": "demo hybrid"}


def report(hybridc, path, context=CONTEXT, extra=()):
    r = subprocess.run([hybridc, "report", path, "--context", str(context), "--batch", "1",
                        "--json", *extra], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"hybridc report {path} failed:\n{r.stderr}")
    return json.loads(r.stdout)


SIZE_ORDER = ["100m", "350m", "1b", "3b"]
FAMILY_ORDER = ["transformer", "mamba2", "mamba2-param-matched", "inter-1to1", "inter-1to5",
                "intra-diff", "intra-concat", "intra"]


def order(rel):
    """paper/ by size then family, then perf/, public/, the rest."""
    folder = rel.split("/")[0] if "/" in rel else "~"
    stem = os.path.basename(rel)[:-len(".mlir")]
    m = re.match(r"(100m|350m|1b|3b)-(.*)", stem)
    size, fam = (m.group(1), m.group(2)) if m else ("", stem)
    return (["paper", "perf", "public"].index(folder) if folder in ("paper", "perf", "public")
            else 3, SIZE_ORDER.index(size) if size else 0,
            FAMILY_ORDER.index(fam) if fam in FAMILY_ORDER else len(FAMILY_ORDER), stem)


def models():
    return sorted((os.path.relpath(p, HERE)
                   for p in glob.glob(os.path.join(HERE, "**", "*.mlir"), recursive=True)),
                  key=order)


def family(rel):
    stem = os.path.basename(rel)[:-len(".mlir")]
    stem = re.sub(r"^(100m|350m|1b|3b)-", "", stem)
    return FAMILY.get(stem, stem)


def reference(rel):
    """The transformer a model is FLOP-matched against, if any."""
    m = re.match(r"paper/(100m|350m|1b|3b)-", rel)
    if m:
        return f"paper/{m.group(1)}-transformer.mlir"
    if rel.startswith("perf/"):
        return "perf/transformer.mlir"
    return None


def composition(rep):
    kinds = [l["kind"] for l in rep["layers"]]
    names = [("attention", "A"), ("mamba2", "M"), ("parallel", "P"), ("mlp", "MLP")]
    parts = [f"{kinds.count(k)} {n}" for k, n in names if kinds.count(k)]
    return f"{len(kinds)} ({' + '.join(parts)})"


def mib(b):
    return "0" if b == 0 else f"{b / MIB:.2f}"


def table(reps):
    rows = ["| file | family | layers | params | fwd FLOPs/token @8K | vs transformer | "
            "KV MiB | conv MiB | SSM MiB | cache MiB |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for rel, rep in reps.items():
        ref = reference(rel)
        ratio = (f"{rep['flops_per_token_forward'] / reps[ref]['flops_per_token_forward']:.4f}"
                 if ref else "-")
        c = rep["cache_bytes"]
        rows.append(f"| [{rel}]({rel}) | {family(rel)} | {composition(rep)} | "
                    f"{rep['params']:,} | {rep['flops_per_token_forward'] / 1e9:.4f} G | {ratio} | "
                    f"{mib(c['kv'])} | {mib(c['conv'])} | {mib(c['ssm'])} | {mib(c['total'])} |")
    return "\n".join(rows)


def compare1b(hybridc, reps):
    t = reps["paper/1b-transformer.mlir"]
    stacks = ["paper/1b-mamba2.mlir", "paper/1b-mamba2-param-matched.mlir"]
    ms = [reps[p] for p in stacks]
    m32 = [report(hybridc, os.path.join(HERE, p), extra=["--ssm-dtype", "f32"]) for p in stacks]
    ft = t["flops_per_token_forward"]
    attn = sum(l["flops_breakdown"]["attention"] for l in t["layers"])
    # Every query against all L keys instead of the causal mean (L+1)/2: x 2L/(L+1).
    full = ft - attn + attn * 2 * CONTEXT / (CONTEXT + 1)
    per_l = attn / (CONTEXT + 1)  # the causal attention term is linear in L+1

    def reach(fm):  # context at which the causal count gives the transformer +18%
        return (1.18 * fm - (ft - attn)) / per_l - 1

    def cells(f):
        return " | ".join(f(m, i) for i, m in enumerate(ms))

    rows = [
        "| context 8192, batch 1 | DESIGN.md | transformer | Mamba-2, 16 blocks "
        "(FLOP-matched, `1b-mamba2`) | Mamba-2, 13 blocks (param-matched, "
        "`1b-mamba2-param-matched`) |",
        "|---|---|---|---|---|",
        f"| params | - | {t['params']:,} | " + cells(lambda m, i: f"{m['params']:,}") + " |",
        f"| KV cache, bf16 | 256 MiB | {t['cache_bytes']['kv'] / MIB:.2f} MiB | 0 | 0 |",
        "| conv + SSM cache, bf16 state | ~13.4 MiB | 0 | "
        + cells(lambda m, i: f"{m['cache_bytes']['total']:,} B = "
                             f"{m['cache_bytes']['total'] / MIB:.2f} MiB") + " |",
        "| same, fp32 SSM state (`--ssm-dtype f32`) | - | 0 | "
        + cells(lambda m, i: f"{m32[i]['cache_bytes']['total'] / MIB:.2f} MiB") + " |",
        f"| fwd FLOPs/token | - | {ft:,} | "
        + cells(lambda m, i: f"{m['flops_per_token_forward']:,}") + " |",
        "| transformer / Mamba-2, causal count (this cost model) | ~1.18 | - | "
        + cells(lambda m, i: f"{ft / m['flops_per_token_forward']:.4f}") + " |",
        f"| transformer / Mamba-2, every query against all 8192 keys ({full:,.0f}) | ~1.18 | - | "
        + cells(lambda m, i: f"{full / m['flops_per_token_forward']:.4f}") + " |",
        "| context where the causal count reaches 1.18 | 8192 | - | "
        + cells(lambda m, i: f"~{reach(m['flops_per_token_forward']):,.0f}") + " |",
        "",
        f"Per layer (from the report): attention KV {t['layers'][0]['cache_bytes']['kv']:,} B; "
        f"Mamba-2 conv {ms[0]['layers'][0]['cache_bytes']['conv']:,} B + SSM "
        f"{ms[0]['layers'][0]['cache_bytes']['ssm']:,} B. Attention's sequence-mixing FLOPs: "
        f"{attn // len(t['layers']):,} per token per layer (causal), "
        f"{ft - attn:,} per token for everything else.",
    ]
    return "\n".join(rows)


def replace_block(text, name, body):
    pat = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pat.search(text):
        sys.exit(f"models/README.md has no <!-- {name}:begin/end --> markers")
    return pat.sub(lambda mo: mo.group(1) + body + "\n" + mo.group(2), text)


HEADER = re.compile(r"// hybridc report --context 8192 --batch 1: params ([\d,]+); "
                    r"forward FLOPs/token ([\d,]+)")


def check_headers(reps):
    bad = 0
    for rel, rep in reps.items():
        text = open(os.path.join(HERE, rel)).read()
        mo = HEADER.search(text)
        if not mo:
            print(f"{rel}: no header line with the report's numbers")
            bad += 1
            continue
        p, f = (int(g.replace(",", "")) for g in mo.groups())
        if (p, f) != (rep["params"], rep["flops_per_token_forward"]):
            print(f"{rel}: header says params {p:,}, FLOPs {f:,}; report says "
                  f"{rep['params']:,}, {rep['flops_per_token_forward']:,}")
            bad += 1
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hybridc", default=os.path.join(ROOT, "build-models", "bin", "hybridc"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--plot", action="store_true")
    args = ap.parse_args()
    reps = {rel: report(args.hybridc, os.path.join(HERE, rel)) for rel in models()}
    if args.check:
        bad = check_headers(reps)
        print(f"{len(reps)} models, {bad} header(s) out of date")
        sys.exit(1 if bad else 0)
    readme = os.path.join(HERE, "README.md")
    text = open(readme).read()
    text = replace_block(text, "table", table(reps))
    text = replace_block(text, "compare1b", compare1b(args.hybridc, reps))
    open(readme, "w").write(text)
    print(f"updated {readme} ({len(reps)} models)")
    if args.plot:
        os.makedirs(os.path.join(ROOT, "docs", "plots"), exist_ok=True)
        out = os.path.join(ROOT, "docs", "plots", "sweep-1b.svg")
        subprocess.run([args.hybridc, "report", *[os.path.join(HERE, p) for p in SWEEP_1B],
                        "--sweep", SWEEP, "--plot", out], check=True)


if __name__ == "__main__":
    main()
