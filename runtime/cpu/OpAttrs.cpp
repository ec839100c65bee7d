//===- OpAttrs.cpp - Attributes of the artifact as kernel arguments -------===//
#include "runtime/cpu/OpAttrs.h"

namespace hybrid {

StatusOr<cpu::RopeScaling> ropeScalingAttr(const OpContext &c, const std::string &prefix) {
  cpu::RopeScaling s;
  std::string type = c.attrStr(prefix + ".type", "");
  if (type.empty())
    return s;
  if (type == "linear")
    s.kind = cpu::RopeScaling::Kind::Linear;
  else if (type == "llama3")
    s.kind = cpu::RopeScaling::Kind::Llama3;
  else
    return HYBRID_ERROR("op '", c.op, "': unsupported rope scaling '", type, "'");
  s.factor = c.attrF64(prefix + ".factor", 1.0);
  s.lowFreqFactor = c.attrF64(prefix + ".low_freq_factor", 1.0);
  s.highFreqFactor = c.attrF64(prefix + ".high_freq_factor", 4.0);
  s.originalMaxPosition = c.attrInt(prefix + ".original_max_position", 8192);
  return s;
}

StatusOr<cpu::CombineMode> combineModeAttr(const OpContext &c, const std::string &key) {
  std::string mode = c.attrStr(key, "");
  if (mode == "add")
    return cpu::CombineMode::Add;
  if (mode == "mean")
    return cpu::CombineMode::Mean;
  if (mode == "diff")
    return cpu::CombineMode::Diff;
  if (mode == "concat")
    return cpu::CombineMode::Concat;
  return HYBRID_ERROR("op '", c.op, "': unknown combine mode '", mode, "'");
}

} // namespace hybrid
