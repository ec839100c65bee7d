"""The training part of shared/bench/peer_anchors.py (its model classes and
timer, from the carried copy in .anchors/): one optimizer step (forward,
cross entropy, backward, fused AdamW) at B8 L2048, eager and torch.compile,
for the models named, so that it runs in the same device call as
`hybrid-run train-bench`. Writes peer-train.json to --out.
Usage: python3 tools/gpu/peer_train.py [--out DIR] [--models inter-1to5,intra] [--batch 8]"""
import argparse, json, os, sys

sys.path.insert(0, ".anchors")
import peer_anchors as pa  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=".")
ap.add_argument("--models", default="inter-1to5,intra")
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--seq", type=int, default=2048)
ap.add_argument("--modes", default="eager,compile")
a = ap.parse_args()
print("device:", torch.cuda.get_device_name(), "torch", torch.__version__, flush=True)
pats = {"inter-1to5": "MMMMMA" * 4, "intra": "P" * 24, "mamba2": "M" * 24, "transformer": "A" * 24}
out = []
for name in a.models.split(","):
    for mode in a.modes.split(","):
        torch.manual_seed(0)
        model = pa.LM(pats[name]).to(pa.dev, pa.DT)
        nparam = sum(p.numel() for p in model.parameters())
        ids = torch.randint(0, 32000, (a.batch, a.seq), device=pa.dev)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        fwd = model if mode == "eager" else torch.compile(model)

        def step():
            loss = F.cross_entropy(fwd(ids).float().view(-1, 32000), ids.view(-1))
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        try:
            ms = pa.bench(step, warm=3, rep=10)
            r = dict(model=name, mode=mode, batch=a.batch, seq=a.seq, ms=round(ms, 3),
                     tok_s=int(a.batch * a.seq / ms * 1e3), params_M=round(nparam / 1e6, 1),
                     max_mem_gb=round(torch.cuda.max_memory_allocated() / 1e9, 1))
        except Exception as ex:  # noqa: BLE001
            r = dict(model=name, mode=mode, error=repr(ex)[:200])
        print(json.dumps(r), flush=True)
        out.append(r)
        del model, opt, fwd
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
with open(os.path.join(a.out, "peer-train.json"), "w") as f:
    json.dump(dict(device=torch.cuda.get_device_name(), torch=torch.__version__, rows=out), f, indent=1)
