#!/usr/bin/env python3
"""How far the PyTorch peer's own bf16 inference is from fp32, on the HF
fixtures (tests/fixtures/hf): each tiny model loaded with transformers on the
GPU in bfloat16 (the Mamba mixers take their CUDA/Triton kernels when
mamba_ssm and causal_conv1d are installed), its logits of the 37-token prompt
against the fixture's fp32 logits.npy, with the metric of the GPU tests
(max|diff| / max|ref|), and its 24-token greedy run against greedy.json.
This puts the bf16 bounds of tests/gpu/gpu_tests.sh next to what the peer
stack reaches on the same weights. Usage: peer_bf16_error.py [--out DIR]"""
import argparse, json, os, sys

import numpy as np
import torch
import transformers

ap = argparse.ArgumentParser()
ap.add_argument("--out", default=".")
a = ap.parse_args()
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "hf")
print("device:", torch.cuda.get_device_name(), "torch", torch.__version__, "transformers", transformers.__version__)
rows = []
for fam in ("bamba", "falcon_h1", "llama", "mamba2", "nemotron_h"):
    d = os.path.join(root, fam)
    ids = json.load(open(os.path.join(d, "prompt.json")))
    ref = np.load(os.path.join(d, "logits.npy"))
    greedy = json.load(open(os.path.join(d, "greedy.json")))
    for dt in (torch.float32, torch.bfloat16):
        try:
            m = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=dt).to("cuda").eval()
            x = torch.tensor([ids], device="cuda")
            with torch.no_grad():
                got = m(x).logits[0].float().cpu().numpy()
                gen = m.generate(x, max_new_tokens=24, do_sample=False, min_new_tokens=24)[0, len(ids):].tolist()
            rel = float(np.abs(got - ref).max() / np.abs(ref).max())
            rms = float(np.sqrt(((got - ref) ** 2).mean()) / np.sqrt((ref ** 2).mean()))
            k = 0
            while k < min(len(gen), len(greedy)) and gen[k] == greedy[k]:
                k += 1
            r = dict(family=fam, dtype=str(dt).split(".")[-1], max_rel=rel, rms_rel=rms, greedy_agree=k)
        except Exception as ex:  # report, keep going
            r = dict(family=fam, dtype=str(dt).split(".")[-1], error=repr(ex)[:200])
        rows.append(r)
        print(json.dumps(r), flush=True)
with open(os.path.join(a.out, "peer-bf16-error.json"), "w") as f:
    json.dump(rows, f, indent=1)
