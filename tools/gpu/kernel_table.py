"""Aggregate an `ncu --csv --metrics gpu__time_duration.sum` log by kernel
name: launches, total and mean microseconds, share of the step. Usage:
python3 tools/gpu/kernel_table.py ncu.csv"""
import csv, io, sys, collections

lines = open(sys.argv[1]).read().splitlines()
start = next((i for i, l in enumerate(lines) if l.startswith('"ID"')), None)
if start is None:
    print("no ncu rows in", sys.argv[1]); print("\n".join(lines[-20:])); sys.exit(1)
agg = collections.OrderedDict()
order = []
for r in csv.DictReader(io.StringIO("\n".join(lines[start:]))):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    name = r["Kernel Name"].split("(")[0]
    ns = float(r["Metric Value"].replace(",", ""))
    n, t = agg.get(name, (0, 0.0))
    agg[name] = (n + 1, t + ns)
    order.append((name, ns, r.get("Grid Size", ""), r.get("Block Size", "")))
total = sum(t for _, t in agg.values())
print(f"launches {len(order)}, kernel time {total/1e3:.1f} us per decode step")
print(f"{'kernel':70s} {'n':>4s} {'total us':>9s} {'mean us':>8s} {'%':>5s}")
for name, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
    print(f"{name[:70]:70s} {n:4d} {t/1e3:9.1f} {t/n/1e3:8.2f} {100*t/total:5.1f}")
print("\nfirst 40 launches in order (us, grid, block):")
for name, ns, g, b in order[:40]:
    print(f"  {ns/1e3:7.2f}  {name[:60]:60s} {g} {b}")
