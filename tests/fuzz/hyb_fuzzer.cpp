//===- hyb_fuzzer.cpp - libFuzzer target for the .hyb loader --------------===//
//
// Any byte string must either load as a verified artifact or fail with a
// Status; never crash, hang or read out of bounds. A loaded artifact is
// walked the way the executor walks it (every program, value, instruction,
// attribute and cache) so that the semantic checks are exercised too.
//
//===----------------------------------------------------------------------===//
#include "runtime/hyb/Artifact.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto a = hybrid::Artifact::loadBuffer(std::string(reinterpret_cast<const char *>(data), size),
                                        "<fuzz>");
  if (!a.ok())
    return 0;
  const hybrid::hyb::Artifact &root = (*a)->root();
  int64_t sink = root.model()->vocab();
  for (const auto *p : *root.programs()) {
    for (const auto *v : *p->values()) {
      int64_t id = v->kind() == hybrid::hyb::ValueKind::Alias ? v->alias_of() : v->weight();
      sink += id;
      if (v->kind() == hybrid::hyb::ValueKind::Weight)
        sink += root.weights()->Get(v->weight())->shape()->Get(0);
      if (v->kind() == hybrid::hyb::ValueKind::Alias)
        sink += p->values()->Get(v->alias_of())->bytes_per_token();
    }
    for (const auto *in : *p->instrs()) {
      sink += static_cast<int64_t>(in->op()->size());
      for (int32_t id : *in->inputs())
        if (id >= 0)
          sink += p->values()->Get(id)->offset_per_token();
      if (in->cache() >= 0)
        sink += root.caches()->Get(in->cache())->layer();
      if (in->attrs())
        for (const auto *at : *in->attrs())
          sink += static_cast<int64_t>(at->key()->size());
    }
  }
  return sink == 42 ? 1 : 0;
}
