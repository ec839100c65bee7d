#!/usr/bin/env python3
"""The README's bench table from one device call: ours (`hybrid-run bench`
JSON lines, build-and-test.sh BENCH=1: bench.jsonl) against the peer
(tools/gpu/peer_subset.py, PEER=1: its JSON), same card, same call. Peer
prefill at B8 is its best of eager and torch.compile, at B1 eager; decode is
its CUDA graph. Usage: bench_table.py bench.jsonl peer.json"""
import json, os, sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours = {}
    for line in open(sys.argv[1]):
        if line.strip():
            r = json.loads(line)
            m = os.path.basename(r["model"]).replace("perf-", "").replace(".hyb", "")
            ours[(m, r["batch"])] = r
    peer = json.load(open(sys.argv[2]))
    best = {}
    for r in peer["rows"]:
        if "FAILED" in r["name"] or not r.get("tok_s"):
            continue
        parts = r["name"].split()
        key = (parts[0], r["section"], parts[2])
        best[key] = max(best.get(key, 0), r["tok_s"])
    if {r.get("device") for r in ours.values()} != {peer["device"]}:
        sys.exit(f"different cards: ours {sorted({r.get('device') for r in ours.values()})}, peer {peer['device']}")
    def cell(a, b):
        return f"{a / 1e3:.1f}K / {b / 1e3:.1f}K tok/s ({a / b:.2f}×)" if a >= 1e4 else f"{a:.0f} / {b:.0f} tok/s ({a / b:.2f}×)"
    print(f"Card: {peer['device']}")
    print("| model | prefill B1 L2048 (ours / peer) | prefill B8 L2048 (ours / peer best) | decode B1 ctx 2048 (ours / peer) |")
    print("|---|---|---|---|")
    names = {"inter-1to5": "inter-1:5"}
    for m in ("inter-1to5", "intra", "mamba2", "transformer"):
        b1, b8 = ours.get((m, 1)), ours.get((m, 8))
        row = [names.get(m, m)]
        row.append(cell(b1["prefill_tok_s"], best[(m, "prefill", "B1")]) if b1 and (m, "prefill", "B1") in best else "—")
        row.append(cell(b8["prefill_tok_s"], best[(m, "prefill", "B8")]) if b8 and (m, "prefill", "B8") in best else "—")
        row.append(cell(b1["decode_tok_s"], best[(m, "decode", "B1")]) if b1 and (m, "decode", "B1") in best else "—")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
