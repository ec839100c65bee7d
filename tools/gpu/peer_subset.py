"""The inference part of shared/bench/peer_anchors.py (its model classes and
timer, imported from the carried copy in .anchors/), without the training
steps, so that it fits in one device call next to `hybrid-run bench`:
prefill (B1 and B8, L2048; eager and torch.compile) and CUDA-graph decode at
batch 1, context 2048, for the four models of shared/PERFORMANCE.md.
Usage: python3 tools/gpu/peer_subset.py [--out DIR] [--no-compile] [--decode-only]"""
import argparse, json, os, sys

sys.path.insert(0, ".anchors")
import peer_anchors as pa  # noqa: E402
import torch  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=".")
ap.add_argument("--no-compile", action="store_true")
ap.add_argument("--decode-only", action="store_true")
a = ap.parse_args()
print("device:", torch.cuda.get_device_name(), "torch", torch.__version__, flush=True)
pats = {"inter-1to5": "MMMMMA" * 4, "intra": "P" * 24, "mamba2": "M" * 24, "transformer": "A" * 24}
for name, p in pats.items():
    torch.manual_seed(0)
    model = pa.LM(p).to(pa.dev, pa.DT)
    with torch.no_grad():
        for B in (() if a.decode_only else (1, 8)):
            ids = torch.randint(0, 32000, (B, 2048), device=pa.dev)
            modes = ["eager"] + ([] if a.no_compile or B == 1 or name in ("mamba2", "transformer") else ["compile"])
            for mode in modes:
                fwd = model if mode == "eager" else torch.compile(model)
                try:
                    ms = pa.bench(lambda: fwd(ids), warm=2, rep=10)
                    pa.row("prefill", f"{name} {mode} B{B} L2048", ms, tok_s=int(B * 2048 / ms * 1e3))
                except Exception as ex:  # report, keep going
                    pa.row("prefill", f"{name} {mode} B{B} FAILED", 0.0, err=repr(ex)[:160])
        caches = pa.make_caches(model, 1, 2048)
        tok = torch.randint(0, 32000, (1, 1), device=pa.dev)
        t = torch.tensor([1024], device=pa.dev)
        pos = t.clone()
        dstep = lambda: model(tok, pos, caches, t)
        s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3): dstep()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            dstep()
        ms = pa.bench(lambda: g.replay(), warm=3, rep=50)
        pa.row("decode", f"{name} cudagraph B1 ctx2048", ms, tok_s=int(1e3 / ms))
    del model
    torch.cuda.empty_cache()
with open(os.path.join(a.out, "peer.json"), "w") as f:
    json.dump(dict(device=torch.cuda.get_device_name(), rows=pa.rows), f, indent=1)
