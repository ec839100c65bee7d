"""Checks a --target cuda .hyb: prints its kernel table (from the FlatBuffer,
via flatc's JSON dump) and, for each name, how many ELF images of the
embedded fatbin define it (sm_90a and sm_80: 2). Usage: list_kernels.py HYB FBS"""
import json, os, re, subprocess, sys, tempfile

hyb, fbs = sys.argv[1], sys.argv[2]
d = tempfile.mkdtemp()
subprocess.run(["flatc", "--json", "--raw-binary", "--strict-json", "-o", d, fbs, "--", hyb], check=True)
text = open(os.path.join(d, os.path.basename(hyb).rsplit(".", 1)[0] + ".json")).read()
text = re.sub(r"\b(-?inf|nan)\b", '"\\1"', text)
a = json.loads(text)
blob = bytes(a.get("fatbin", []))
print("target", a["target"], "fatbin bytes", len(blob), "kernels", len(a["kernels"]))
# The ELF images (SASS) in the fatbin: a kernel is defined in each one whose
# string table holds its name.
starts = [m.start() for m in re.finditer(b"\x7fELF", blob)] + [len(blob)]
elves = [blob[s:e] for s, e in zip(starts, starts[1:])]
print("elf images", len(elves))
for k in a["kernels"]:
    n = k["name"].encode() + b"\0"
    print(k["name"], sum(1 for e in elves if n in e))
