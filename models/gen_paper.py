#!/usr/bin/env python3
"""Generates models/paper/*.mlir: the model families of arXiv 2510.04800 at four sizes.

For each size the transformer fixes the budget; every other family (mamba2, inter-1:1,
inter-1:5, intra-diff, intra-concat) gets the layer count whose forward FLOPs/token at
context 8192 (as `hybridc report` counts them) come closest to the transformer's. The
FFN width stays the transformer's: the hybrids swap only the sequence mixer.

    python3 models/gen_paper.py [--hybridc build-models/bin/hybridc]

The numbers written into each header come from `hybridc report --context 8192 --batch 1
--json` on the file itself.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT = 8192

# name: d_model, layers, heads, kv_heads, head_dim, ffn, vocab, rope_theta, tied, source
SIZES = {
    "100m": dict(d=768, layers=12, heads=12, kv=4, hd=64, ffn=2048, vocab=32000,
                 theta=10000.0, tied=True,
                 source="GPT-2-small width and depth (d_model 768, 12 layers) as a Llama-style "
                        "block: 12 heads / 4 KV heads of 64, SwiGLU 2048 (8/3 d rounded to 256), "
                        "vocab 32000 (Llama-2 tokenizer size), tied embeddings"),
    "350m": dict(d=1024, layers=24, heads=16, kv=4, hd=64, ffn=3584, vocab=32000,
                 theta=10000.0, tied=True,
                 source="GPT-2-medium width and depth (d_model 1024, 24 layers) as a Llama-style "
                        "block: 16 heads / 4 KV heads of 64, SwiGLU 3584 (3.5 d, sized to reach "
                        "~350M with tied embeddings), vocab 32000"),
    "1b": dict(d=2048, layers=16, heads=32, kv=8, hd=64, ffn=8192, vocab=128256,
               theta=500000.0, tied=True,
               source="Llama-3.2-1B shapes (d_model 2048, 16 layers, 32 heads / 8 KV heads of 64, "
                      "SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; its llama3 RoPE "
                      "scaling is left out: it changes no shape or count)"),
    "3b": dict(d=3072, layers=28, heads=24, kv=8, hd=128, ffn=8192, vocab=128256,
               theta=500000.0, tied=True,
               source="Llama-3.2-3B shapes (d_model 3072, 28 layers, 24 heads / 8 KV heads of 128, "
                      "SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; llama3 RoPE scaling "
                      "left out)"),
}

FAMILIES = ["transformer", "mamba2", "inter-1to1", "inter-1to5", "intra-diff", "intra-concat"]


def attention(s, heads=None, kv=None):
    heads = heads or s["heads"]
    kv = kv or s["kv"]
    t = f", rope_theta = {s['theta']:.1f}" if s["theta"] != 10000.0 else ""
    return f"#hybrid.attention<heads = {heads}, kv_heads = {kv}, head_dim = {s['hd']}{t}>"


def mamba(s):
    # expand 2, head dim 64, state 128, 1 group, conv 4, chunk 256 (mamba_ssm defaults).
    return (f"#hybrid.mamba2<heads = {2 * s['d'] // 64}, head_dim = 64, state = 128, groups = 1, "
            f"conv = 4, chunk = 256, expand = 2>")


def parallel(s, norm, combine):
    # 1:1 split of the transformer's attention width: half the heads (and KV heads) attend,
    # a Mamba-2 branch of the same inner width (heads of 64) scans.
    ah, akv = s["heads"] // 2, s["kv"] // 2
    width = ah * s["hd"]
    return (f"#hybrid.parallel<\n"
            f"          attention = {attention(s, ah, akv)},\n"
            f"          mamba = #hybrid.mamba2<heads = {width // 64}, head_dim = 64, state = 128, "
            f"groups = 1, conv = 4, chunk = 256>,\n"
            f"          fuse = #hybrid.fuse<norm = {norm}, combine = {combine}>>")


def ffn(s):
    return f"#hybrid.ffn<kind = swiglu, hidden = {s['ffn']}>"


def spread(n, k):
    """Positions of k special layers among n: evenly spread, centred, never first."""
    return [int((i + 0.5) * n / k) for i in range(k)]


def layout(family, n):
    """The layer string (A attention, M Mamba-2, P parallel) of a family with n layers."""
    if family == "transformer":
        return "A" * n
    if family.startswith("mamba2"):
        return "M" * n
    special, every = {"inter-1to1": ("A", 2), "inter-1to5": ("A", 6),
                      "intra-diff": ("P", 6), "intra-concat": ("P", 6)}[family]
    k = max(1, int(n / every + 0.5))
    while k > 1 and spread(n, k)[0] == 0:  # never attention (or a parallel block) first
        k -= 1
    s = ["M"] * n
    for p in spread(n, k):
        s[p] = special
    return "".join(s)


def period(s):
    """Smallest p with s == s[:p] * (len(s) // p)."""
    for p in range(1, len(s) + 1):
        if len(s) % p == 0 and s[:p] * (len(s) // p) == s:
            return p
    return len(s)


def symbol(size, family):
    return f"paper_{size}_{family.replace('-', '_')}"


def body(size, family, n):
    s = SIZES[size]
    lay = layout(family, n)
    templates = {"A": f'hybrid.block "A" mixer({attention(s)})\n                     ffn({ffn(s)})',
                 "M": f'hybrid.block "M" mixer({mamba(s)})\n                     ffn({ffn(s)})'}
    if family == "intra-diff":
        templates["P"] = f'hybrid.block "P" mixer({parallel(s, "group", "diff")})\n' \
                         f'                     ffn({ffn(s)})'
    if family == "intra-concat":
        templates["P"] = f'hybrid.block "P" mixer({parallel(s, "rms", "concat")})\n' \
                         f'                     ffn({ffn(s)})'
    p = period(lay)
    used = [c for c in "APM" if c in lay]
    tied = ", tie_embeddings" if s["tied"] else ""
    out = [f'hybrid.model @{symbol(size, family)} attributes {{vocab = {s["vocab"]} : i64, '
           f'd_model = {s["d"]} : i64, norm_eps = 1.0e-05 : f64{tied}}} {{',
           f'  hybrid.pattern "{lay[:p]}" x {n // p} {{']
    for c in used:
        out.append("    " + templates[c])
    out += ["  }", "}", ""]
    return lay, "\n".join(out)


def report(hybridc, text):
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        r = subprocess.run([hybridc, "report", path, "--context", str(CONTEXT), "--batch", "1",
                            "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"hybridc report failed on\n{text}\n{r.stderr}")
        return json.loads(r.stdout)
    finally:
        os.unlink(path)


DESCRIPTIONS = {
    "transformer": "all attention blocks (pre-RMSNorm, RoPE, GQA, SwiGLU FFN)",
    "mamba2": "all Mamba-2 blocks, each keeping the SwiGLU FFN",
    "inter-1to1": "inter-layer hybrid, attention:Mamba-2 1:1, attention never first",
    "inter-1to5": "inter-layer hybrid, attention:Mamba-2 about 1:5, attention spread "
                  "evenly through the middle, never first",
    "intra-diff": "intra-layer hybrid: parallel attention + Mamba-2 blocks (1:1 width split, "
                  "group-normed branches, combine = diff = attention - mamba, shared out "
                  "projection) interleaved with plain Mamba-2 blocks about 1:5",
    "mamba2-param-matched": "all Mamba-2 blocks, each keeping the SwiGLU FFN, with the layer count "
                            "that matches the transformer's parameters instead of its FLOPs: the "
                            "stack DESIGN.md's 1B figures (~13.4 MiB cache, ~18% fewer FLOPs) fit",
    "intra-concat": "intra-layer hybrid: parallel attention + Mamba-2 blocks (1:1 width split, "
                    "RMS-normed branches, combine = concat, shared out projection) "
                    "interleaved with plain Mamba-2 blocks about 1:5",
}


def header(size, family, lay, rep, ref_flops, ref_params=0):
    s = SIZES[size]
    n = len(lay)
    counts = {c: lay.count(c) for c in "APM"}
    ratio = rep["flops_per_token_forward"] / ref_flops
    lines = [
        f"// {size} {family} (arXiv 2510.04800 families, models/gen_paper.py generates this file).",
        f"// {DESCRIPTIONS[family]}.",
        f"// Shapes: {s['source']}.",
    ]
    if family != "transformer":
        lines.append("// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, "
                     "1 group, conv 4, chunk 256.")
    if family.startswith("intra"):
        lines.append(f"// Parallel block: attention {s['heads'] // 2} heads / {s['kv'] // 2} KV "
                     f"heads of {s['hd']} beside a Mamba-2 branch of "
                     f"{s['heads'] // 2 * s['hd'] // 64} heads of 64 (half the transformer's "
                     f"width each).")
    lines.append(f"// Layers: {n} = {counts['A']} attention + {counts['M']} Mamba-2"
                 + (f" + {counts['P']} parallel" if counts['P'] else "")
                 + f"; order {lay}.")
    if family == "mamba2-param-matched":
        lines.append(f"// Layer count chosen so that the parameters match the {size} transformer "
                     f"({ref_params:,}): ratio {rep['params'] / ref_params:.4f}; forward FLOPs/token "
                     f"at 8K: transformer / this = {ref_flops / rep['flops_per_token_forward']:.4f}.")
    elif family != "transformer":
        lines.append(f"// Layer count chosen so that forward FLOPs/token at 8K match the "
                     f"{size} transformer: ratio {ratio:.4f}.")
    if family == "inter-1to5" and n % 6:
        lines.append(f"// {n} layers hold no whole number of 1:5 groups: "
                     f"{counts['A']} attention layers (nearest to {n}/6) "
                     f"(1:{counts['M'] / counts['A']:.2f}).")
    if family.startswith("intra") and n % 6:
        lines.append(f"// {n} layers hold no whole number of 1:5 groups: "
                     f"{counts['P']} parallel layers (nearest to {n}/6) "
                     f"(1:{counts['M'] / counts['P']:.2f}).")
    lines.append(f"// hybridc report --context 8192 --batch 1: params {rep['params']:,}; "
                 f"forward FLOPs/token {rep['flops_per_token_forward']:,}.")
    return "\n".join(lines) + "\n\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hybridc", default=os.path.join(HERE, "..", "build-models", "bin", "hybridc"))
    args = ap.parse_args()
    os.makedirs(os.path.join(HERE, "paper"), exist_ok=True)
    for size, s in SIZES.items():
        lay, text = body(size, "transformer", s["layers"])
        ref = report(args.hybridc, text)
        ref_flops = ref["flops_per_token_forward"]
        for family in FAMILIES:
            if family == "transformer":
                best = (s["layers"], lay, text, ref)
            else:
                best = None
                for n in range(max(2, s["layers"] // 2), 2 * s["layers"] + 1):
                    lay_n, text_n = body(size, family, n)
                    rep = report(args.hybridc, text_n)
                    err = abs(rep["flops_per_token_forward"] / ref_flops - 1)
                    if best is None or err < best[0]:
                        best = (err, lay_n, text_n, rep)
                best = (len(best[1]),) + best[1:]
            _, lay_b, text_b, rep_b = best
            path = os.path.join(HERE, "paper", f"{size}-{family}.mlir")
            with open(path, "w") as f:
                f.write(header(size, family, lay_b, rep_b, ref_flops) + text_b)
            print(f"{path}: {len(lay_b)} layers {lay_b} params {rep_b['params']:,} "
                  f"flops {rep_b['flops_per_token_forward'] / ref_flops:.4f}")
    param_matched(args.hybridc, "1b")


def param_matched(hybridc, size):
    """The Mamba-2 stack with the transformer's parameter count (1B only: DESIGN.md's figures)."""
    s = SIZES[size]
    ref = report(hybridc, body(size, "transformer", s["layers"])[1])
    best = None
    for n in range(2, 2 * s["layers"] + 1):
        lay, text = body(size, "mamba2-param-matched", n)
        rep = report(hybridc, text)
        err = abs(rep["params"] / ref["params"] - 1)
        if best is None or err < best[0]:
            best = (err, lay, text, rep)
    _, lay, text, rep = best
    path = os.path.join(HERE, "paper", f"{size}-mamba2-param-matched.mlir")
    with open(path, "w") as f:
        f.write(header(size, "mamba2-param-matched", lay, rep, ref["flops_per_token_forward"],
                       ref["params"]) + text)
    print(f"{path}: {len(lay)} layers params {rep['params'] / ref['params']:.4f}")


if __name__ == "__main__":
    main()
