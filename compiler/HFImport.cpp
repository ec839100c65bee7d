//===- HFImport.cpp - Hugging Face config.json -> ModelSpec ---------------===//
//
// Semantics are those of transformers 5.17's modeling_<family>.py (the
// version the fixtures under tests/fixtures/hf were made with). What each
// family's fields mean, as mapped here:
//
// All families
//  - A field set to null counts as absent (HF writes null for "use default").
//  - RoPE: `rope_parameters` (transformers >= 5) or the legacy `rope_theta` +
//    `rope_scaling`; type (`rope_type` or legacy `type`) default | linear |
//    llama3. llama3 needs factor, low_freq_factor, high_freq_factor,
//    original_max_position_embeddings. Any other type is an error.
//  - time_step_limit = (lo, hi) clamps dt after softplus(dt + dt_bias); HF
//    saves infinity as {"__float__": "Infinity"}, which is read as such.
//  - One eps for every RMSNorm of a model (each family uses one field).
//
// llama: pre-norm attention + SwiGLU blocks. attention_bias puts a bias on
//   q, k, v and o; mlp_bias on gate/up/down. head_dim defaults to
//   hidden_size / num_attention_heads. partial_rotary_factor != 1 is an
//   error (Llama's rotary applies to the whole head).
//
// mamba2: one RMSNorm + Mamba-2 mixer per layer, no FFN. inner = expand *
//   hidden_size must equal num_heads * head_dim. use_bias: in_proj and
//   out_proj bias; use_conv_bias: conv1d bias. The gated norm is
//   RMSNorm(y * silu(z)) over the WHOLE inner width (transformers'
//   MambaRMSNormGated has no groups; only its CUDA-kernel path groups by
//   n_groups), so normGroups = 1. `rms_norm` (older configs) is unused by
//   transformers and ignored here.
//
// bamba: every layer = input_layernorm, mixer (attention at
//   attn_layer_indices / layers_block_type "attention"|"full_attention",
//   Mamba-2 elsewhere), pre_ff_layernorm, SwiGLU FFN. Mamba inner =
//   mamba_expand * hidden_size; mamba_d_head "auto" = inner / mamba_n_heads.
//   mamba_proj_bias: in/out proj bias; mamba_conv_bias. Gated norm
//   ungrouped, as mamba2. RoPE rotates only the first
//   head_dim * partial_rotary_factor channels of each head; BambaConfig
//   hard-codes the factor 0.5 when a config does not give one.
//
// nemotron_h: layers from `layers_block_type` (mamba|linear_attention = M,
//   attention|full_attention = *, mlp = -, moe = E) or the legacy
//   `hybrid_override_pattern` string (M * - E). Each layer: one RMSNorm and
//   one sublayer. MLP layers: up_proj -> relu^2 -> down_proj (mlp_bias).
//   Attention: no RoPE, and transformers builds q/k/v/o WITHOUT bias
//   whatever attention_bias says, so attention_bias is not read. Mamba:
//   inner = mamba_num_heads * mamba_head_dim (expand unused); use_bias on
//   in/out proj (mamba_proj_bias is unused by transformers); gated norm
//   grouped by n_groups; dt is clamped to [time_step_min, inf) in the chunked
//   scan (transformers ignores time_step_limit for this family; its one-token
//   decode step does not clamp at all, a transformers inconsistency).
//   Legacy names mamba_n_groups, mamba_d_conv, mamba_chunk_size,
//   mamba_conv_bias are accepted. MoE layers are an error;
//   num_nextn_predict_layers (MTP heads) is not used at inference.
//
// falcon_h1: every layer is a parallel block: h = input_layernorm(x);
//   x += attn(h * attention_in_multiplier) * attention_out_multiplier
//      + mamba(h) * ssm_out_multiplier            (separate out projections)
//   then pre_ff_layernorm + SwiGLU FFN. Multipliers:
//   - embedding_multiplier scales the embedding output;
//   - lm_head_multiplier scales the logits;
//   - key_multiplier scales k after k_proj (before RoPE);
//   - ssm_in_multiplier scales the mamba input before in_proj;
//   - ssm_multipliers[5] scale the in_proj output segments z, x, B, C, dt;
//   - mlp_multipliers = [gate, down]: gate_proj output (before SiLU) and
//     down_proj output.
//   The two out multipliers go to Multipliers::attentionOut/ssmOut (the
//   decompose pass applies them to attn.o / mamba.out_proj outputs), not to
//   FuseSpec's branch multipliers, which stay 1 so nothing is applied twice.
//   Mamba: inner = mamba_d_ssm (or mamba_expand * hidden_size);
//   mamba_d_head "auto" = inner / mamba_n_heads. in_proj bias is
//   mamba_proj_bias but out_proj bias is projectors_bias: different values
//   are an error (one flag in Mamba2Spec). mamba_rms_norm: gated RMSNorm
//   grouped by mamba_n_groups with mamba_norm_before_gate; without it the
//   gate is plain y * silu(z). attention_bias / mlp_bias as llama.
//   mamba_use_mlp (older configs) is not used by transformers; ignored.
//
//===----------------------------------------------------------------------===//
#include "compiler/HFImport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/FileSystem.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <optional>

using namespace llvm;

namespace hybridc {
namespace {

std::string show(const json::Value &v) {
  std::string s;
  raw_string_ostream os(s);
  os << v;
  return s;
}

/// A number, also in the forms HF writes for non-finite floats.
std::optional<double> asNumber(const json::Value &v) {
  if (auto d = v.getAsNumber())
    return d;
  auto special = [](StringRef s) -> std::optional<double> {
    std::string l = s.lower();
    if (l == "infinity" || l == "inf" || l == "+inf")
      return std::numeric_limits<double>::infinity();
    if (l == "-infinity" || l == "-inf")
      return -std::numeric_limits<double>::infinity();
    return std::nullopt;
  };
  if (auto s = v.getAsString())
    return special(*s);
  if (auto *o = v.getAsObject())
    if (auto s = o->getString("__float__"))
      return special(*s);
  return std::nullopt;
}

/// Typed access to one JSON object that remembers the first error, so the
/// family readers stay linear. `where` prefixes field names ("rope_parameters.").
class Reader {
public:
  Reader(const json::Object &o, std::string where, std::string *err)
      : o(o), where(std::move(where)), err(err) {}

  const json::Value *val(StringRef k) const {
    const json::Value *v = o.get(k);
    return v && v->kind() != json::Value::Null ? v : nullptr;
  }
  bool has(StringRef k) const { return val(k) != nullptr; }
  std::string field(StringRef k) const { return where + k.str(); }

  void fail(const Twine &msg) {
    if (err->empty())
      *err = msg.str();
  }
  void missing(StringRef k) {
    fail("required field '" + field(k) + "' is missing");
  }
  void unsupported(StringRef k, const Twine &value, const Twine &why) {
    fail("field '" + field(k) + "' has unsupported value " + value + ": " + why);
  }

  std::optional<int64_t> optInt(StringRef k) {
    const json::Value *v = val(k);
    if (!v)
      return std::nullopt;
    if (auto i = v->getAsInteger())
      return *i;
    if (auto d = v->getAsNumber())
      if (std::isfinite(*d) && *d == std::floor(*d))
        return static_cast<int64_t>(*d);
    fail("field '" + field(k) + "' must be an integer, got " + show(*v));
    return std::nullopt;
  }
  int64_t integer(StringRef k) {
    if (!has(k)) {
      missing(k);
      return 0;
    }
    return optInt(k).value_or(0);
  }
  int64_t integer(StringRef k, int64_t dflt) { return optInt(k).value_or(dflt); }
  /// A strictly positive integer (dimensions, counts).
  int64_t positive(StringRef k) {
    bool present = has(k);
    int64_t v = integer(k);
    if (present && v <= 0)
      fail("field '" + field(k) + "' must be positive, got " + Twine(v));
    return v;
  }
  int64_t positive(StringRef k, int64_t dflt) {
    return has(k) ? positive(k) : dflt;
  }

  std::optional<double> optNumber(StringRef k) {
    const json::Value *v = val(k);
    if (!v)
      return std::nullopt;
    if (auto d = asNumber(*v))
      return d;
    fail("field '" + field(k) + "' must be a number, got " + show(*v));
    return std::nullopt;
  }
  double number(StringRef k) {
    if (!has(k)) {
      missing(k);
      return 0;
    }
    return optNumber(k).value_or(0);
  }
  double number(StringRef k, double dflt) { return optNumber(k).value_or(dflt); }

  bool boolean(StringRef k, bool dflt) {
    const json::Value *v = val(k);
    if (!v)
      return dflt;
    if (auto b = v->getAsBoolean())
      return *b;
    fail("field '" + field(k) + "' must be true or false, got " + show(*v));
    return dflt;
  }

  std::optional<std::string> optString(StringRef k) {
    const json::Value *v = val(k);
    if (!v)
      return std::nullopt;
    if (auto s = v->getAsString())
      return s->str();
    fail("field '" + field(k) + "' must be a string, got " + show(*v));
    return std::nullopt;
  }
  std::string string(StringRef k, StringRef dflt) {
    return optString(k).value_or(dflt.str());
  }

  /// A list of numbers of length n (multipliers, time_step_limit).
  std::optional<std::vector<double>> numbers(StringRef k, size_t n) {
    const json::Value *v = val(k);
    if (!v)
      return std::nullopt;
    const json::Array *a = v->getAsArray();
    std::vector<double> out;
    if (a && a->size() == n)
      for (const json::Value &e : *a)
        if (auto d = asNumber(e))
          out.push_back(*d);
    if (out.size() != n) {
      fail("field '" + field(k) + "' must be a list of " + Twine(n) +
           " numbers, got " + show(*v));
      return std::nullopt;
    }
    return out;
  }

  /// The activation of a SiLU-gated path must be SiLU.
  void requireAct(StringRef k, StringRef dflt, StringRef want) {
    std::string act = string(k, dflt);
    if (act != want && !(want == "silu" && act == "swish"))
      unsupported(k, "'" + act + "'", "hybridc supports only '" + want + "' here");
  }

  const json::Object &o;
  std::string where;
  std::string *err;
};

/// RoPE from `rope_parameters` or legacy `rope_theta` + `rope_scaling`.
/// `partialDefault` is the partial_rotary_factor a family assumes when the
/// config names none; `allowPartial` says whether the family can rotate part
/// of a head.
void readRope(Reader &r, AttentionSpec &a, bool allowPartial,
              double partialDefault) {
  a.rope = true;
  a.ropeTheta = r.number("rope_theta", 10000.0);
  double partial = r.number("partial_rotary_factor", partialDefault);

  const char *key = r.has("rope_parameters") ? "rope_parameters"
                    : r.has("rope_scaling")  ? "rope_scaling"
                                             : nullptr;
  if (key) {
    const json::Object *obj = r.val(key)->getAsObject();
    if (!obj) {
      r.fail("field '" + r.field(key) + "' must be an object, got " +
             show(*r.val(key)));
      return;
    }
    Reader p(*obj, r.field(key) + ".", r.err);
    a.ropeTheta = p.number("rope_theta", a.ropeTheta);
    partial = p.number("partial_rotary_factor", partial);
    const char *typeKey = p.has("rope_type") ? "rope_type" : "type";
    std::string type = p.string(typeKey, "default");
    RopeScaling &s = a.ropeScaling;
    if (type == "default") {
      s.type = "none";
    } else if (type == "linear") {
      s.type = "linear";
      s.factor = p.number("factor");
    } else if (type == "llama3") {
      s.type = "llama3";
      s.factor = p.number("factor");
      s.lowFreqFactor = p.number("low_freq_factor");
      s.highFreqFactor = p.number("high_freq_factor");
      s.originalMaxPosition = p.positive("original_max_position_embeddings");
    } else {
      p.unsupported(typeKey, "'" + type + "'",
                    "hybridc supports RoPE types default, linear, llama3");
    }
  }
  if (partial != 1.0) {
    if (!allowPartial || partial <= 0.0 || partial > 1.0) {
      r.unsupported("partial_rotary_factor", std::to_string(partial),
                    "this family rotates whole heads");
      return;
    }
    a.ropeDim = static_cast<int64_t>(a.headDim * partial);
  }
}

/// Standard HF attention fields: num_attention_heads, num_key_value_heads
/// (null/absent = MHA), head_dim (absent = hidden_size / heads).
AttentionSpec readAttention(Reader &r, int64_t dModel) {
  AttentionSpec a;
  a.heads = r.positive("num_attention_heads");
  a.kvHeads = r.positive("num_key_value_heads", a.heads);
  a.headDim = r.positive("head_dim", a.heads ? dModel / a.heads : 0);
  if (a.heads && a.kvHeads && a.heads % a.kvHeads != 0)
    r.fail("field 'num_attention_heads' (" + Twine(a.heads) +
           ") must be a multiple of 'num_key_value_heads' (" +
           Twine(a.kvHeads) + ")");
  if (r.has("sliding_window"))
    r.unsupported("sliding_window", show(*r.val("sliding_window")),
                  "sliding-window attention is not mapped for this family");
  return a;
}

/// dt clamp and init range shared by the Mamba families.
void readTimeStep(Reader &r, Mamba2Spec &m) {
  m.dtMin = r.number("time_step_min", m.dtMin);
  m.dtMax = r.number("time_step_max", m.dtMax);
  if (auto lim = r.numbers("time_step_limit", 2)) {
    m.dtLimitLo = (*lim)[0];
    m.dtLimitHi = (*lim)[1];
  }
}

void checkMamba(Reader &r, const Mamba2Spec &m, int64_t inner,
                StringRef headsKey, StringRef groupsKey) {
  if (m.heads && m.headDim && m.heads * m.headDim != inner)
    r.fail("mamba heads * head_dim (" + Twine(m.heads) + " * " +
           Twine(m.headDim) + ") must equal the mamba inner width " +
           Twine(inner) + " (fields '" + headsKey + "' and head dim)");
  if (m.heads && m.groups && m.heads % m.groups != 0)
    r.fail("field '" + r.field(headsKey) + "' (" + Twine(m.heads) +
           ") must be a multiple of '" + r.field(groupsKey) + "' (" +
           Twine(m.groups) + ")");
}

/// Mamba head dim given as an integer or "auto" (= inner / heads).
int64_t headDimOrAuto(Reader &r, StringRef k, int64_t inner, int64_t heads) {
  const json::Value *v = r.val(k);
  if (!v || (v->getAsString() && *v->getAsString() == "auto"))
    return heads ? inner / heads : 0;
  return r.positive(k);
}

FfnSpec swiglu(Reader &r) {
  FfnSpec f;
  f.kind = FfnKind::SwiGLU;
  f.hidden = r.positive("intermediate_size");
  f.bias = r.boolean("mlp_bias", false);
  r.requireAct("hidden_act", "silu", "silu");
  return f;
}

void importLlama(Reader &r, ModelSpec &s) {
  s.normEps = r.number("rms_norm_eps", 1e-6);
  AttentionSpec a = readAttention(r, s.dModel);
  readRope(r, a, /*allowPartial=*/false, 1.0);
  a.qkvBias = a.outBias = r.boolean("attention_bias", false);
  FfnSpec f = swiglu(r);
  int64_t n = r.positive("num_hidden_layers");
  for (int64_t i = 0; i < n; ++i) {
    BlockSpec b;
    b.mixer = MixerKind::Attention;
    b.attn = a;
    b.ffn = f;
    s.blocks.push_back(b);
  }
}

void importMamba2(Reader &r, ModelSpec &s) {
  s.normEps = r.number("layer_norm_epsilon", 1e-5);
  Mamba2Spec m;
  m.heads = r.positive("num_heads");
  m.headDim = r.positive("head_dim");
  m.state = r.positive("state_size");
  m.groups = r.positive("n_groups", 1);
  m.convWidth = r.positive("conv_kernel", 4);
  m.chunk = r.positive("chunk_size", 256);
  m.convBias = r.boolean("use_conv_bias", true);
  m.projBias = r.boolean("use_bias", false);
  m.gatedNorm = true;
  m.normBeforeGate = false;
  m.normGroups = 1; // transformers' MambaRMSNormGated normalises the whole width
  readTimeStep(r, m);
  r.requireAct("hidden_act", "silu", "silu");
  int64_t inner = static_cast<int64_t>(r.number("expand", 2) * s.dModel);
  checkMamba(r, m, inner, "num_heads", "n_groups");
  int64_t n = r.positive("num_hidden_layers");
  for (int64_t i = 0; i < n; ++i) {
    BlockSpec b;
    b.mixer = MixerKind::Mamba2;
    b.ssm = m;
    s.blocks.push_back(b);
  }
}

void importBamba(Reader &r, ModelSpec &s) {
  s.normEps = r.number("rms_norm_eps", 1e-5);
  AttentionSpec a = readAttention(r, s.dModel);
  readRope(r, a, /*allowPartial=*/true, /*BambaConfig's hard-coded*/ 0.5);
  a.qkvBias = a.outBias = r.boolean("attention_bias", false);

  Mamba2Spec m;
  int64_t inner = static_cast<int64_t>(r.number("mamba_expand", 2) * s.dModel);
  m.heads = r.positive("mamba_n_heads");
  m.headDim = headDimOrAuto(r, "mamba_d_head", inner, m.heads);
  m.state = r.positive("mamba_d_state");
  m.groups = r.positive("mamba_n_groups", 1);
  m.convWidth = r.positive("mamba_d_conv", 4);
  m.chunk = r.positive("mamba_chunk_size", 256);
  m.convBias = r.boolean("mamba_conv_bias", true);
  m.projBias = r.boolean("mamba_proj_bias", false);
  m.gatedNorm = true;
  m.normBeforeGate = false;
  m.normGroups = 1; // BambaRMSNormGated: whole width, like mamba2
  readTimeStep(r, m);
  checkMamba(r, m, inner, "mamba_n_heads", "mamba_n_groups");
  FfnSpec f = swiglu(r);

  int64_t n = r.positive("num_hidden_layers");
  std::vector<bool> isAttn(n > 0 ? n : 0, false);
  if (const json::Value *v = r.val("attn_layer_indices")) {
    const json::Array *arr = v->getAsArray();
    if (!arr)
      r.fail("field 'attn_layer_indices' must be a list of layer indices, got " +
             show(*v));
    for (size_t j = 0; arr && j < arr->size(); ++j) {
      auto idx = (*arr)[j].getAsInteger();
      if (!idx || *idx < 0 || *idx >= n) {
        r.fail("field 'attn_layer_indices' has an invalid entry " +
               show((*arr)[j]) + " (num_hidden_layers " + Twine(n) + ")");
        break;
      }
      isAttn[*idx] = true;
    }
  } else if (const json::Value *v = r.val("layers_block_type")) {
    const json::Array *arr = v->getAsArray();
    if (!arr || static_cast<int64_t>(arr->size()) != n)
      r.fail("field 'layers_block_type' must list num_hidden_layers (" +
             Twine(n) + ") layer types, got " + show(*v));
    for (size_t j = 0; arr && j < arr->size() && j < isAttn.size(); ++j) {
      auto t = (*arr)[j].getAsString();
      if (t && (*t == "attention" || *t == "full_attention"))
        isAttn[j] = true;
      else if (!t || !(*t == "mamba" || *t == "linear_attention"))
        r.unsupported(("layers_block_type[" + Twine(j) + "]").str(),
                      show((*arr)[j]), "expected attention or mamba");
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    BlockSpec b;
    b.mixer = isAttn[i] ? MixerKind::Attention : MixerKind::Mamba2;
    if (isAttn[i])
      b.attn = a;
    else
      b.ssm = m;
    b.ffn = f;
    s.blocks.push_back(b);
  }
}

void importNemotronH(Reader &r, ModelSpec &s) {
  s.normEps = r.number("layer_norm_epsilon", 1e-5);
  // Layer kinds: M = mamba2, * = attention, - = MLP, E = MoE.
  std::string kinds;
  if (const json::Value *v = r.val("layers_block_type")) {
    const json::Array *arr = v->getAsArray();
    if (!arr)
      r.fail("field 'layers_block_type' must be a list, got " + show(*v));
    for (size_t j = 0; arr && j < arr->size(); ++j) {
      auto t = (*arr)[j].getAsString();
      std::string name = t ? t->str() : "";
      if (name == "mamba" || name == "linear_attention")
        kinds += 'M';
      else if (name == "attention" || name == "full_attention")
        kinds += '*';
      else if (name == "mlp")
        kinds += '-';
      else if (name == "moe")
        kinds += 'E';
      else
        r.unsupported(("layers_block_type[" + Twine(j) + "]").str(),
                      show((*arr)[j]),
                      "expected mamba, attention, mlp (or moe)");
    }
  } else if (auto p = r.optString("hybrid_override_pattern")) {
    kinds = *p;
  } else {
    r.missing("hybrid_override_pattern");
  }
  for (size_t j = 0; j < kinds.size(); ++j) {
    char c = kinds[j];
    std::string where = r.has("layers_block_type")
                            ? ("layers_block_type[" + Twine(j) + "]").str()
                            : "hybrid_override_pattern";
    if (c == 'E')
      r.unsupported(where, "'E' (MoE layer)", "mixture-of-experts layers are not supported");
    else if (c != 'M' && c != '*' && c != '-')
      r.unsupported(where, Twine("'") + Twine(c) + "' in '" + kinds + "'",
                    "expected M (mamba2), * (attention) or - (MLP)");
  }
  if (kinds.empty() && r.err->empty())
    r.fail("field 'hybrid_override_pattern' names no layers");

  AttentionSpec a;
  if (kinds.find('*') != std::string::npos) {
    a = readAttention(r, s.dModel);
    a.rope = false; // Nemotron-H attention has no positional rotation
    a.qkvBias = a.outBias = false; // hard-coded bias=False in transformers
  }
  Mamba2Spec m;
  if (kinds.find('M') != std::string::npos) {
    m.heads = r.positive("mamba_num_heads");
    m.headDim = r.positive("mamba_head_dim");
    m.state = r.positive("ssm_state_size");
    auto alt = [&](StringRef k, StringRef legacy) {
      return r.has(k) ? k : (r.has(legacy) ? legacy : k);
    };
    m.groups = r.positive(alt("n_groups", "mamba_n_groups"), 1);
    m.convWidth = r.positive(alt("conv_kernel", "mamba_d_conv"), 4);
    m.chunk = r.positive(alt("chunk_size", "mamba_chunk_size"), 256);
    m.convBias = r.boolean(alt("use_conv_bias", "mamba_conv_bias"), true);
    m.projBias = r.boolean("use_bias", false);
    m.gatedNorm = true;
    m.normBeforeGate = false;
    m.normGroups = m.groups;
    m.dtMin = r.number(alt("time_step_min", "mamba_dt_min"), m.dtMin);
    m.dtMax = r.number(alt("time_step_max", "mamba_dt_max"), m.dtMax);
    m.dtLimitLo = m.dtMin; // transformers: time_step_limit = (time_step_min, inf)
    r.requireAct("mamba_hidden_act", "silu", "silu");
    checkMamba(r, m, m.heads * m.headDim, "mamba_num_heads", "n_groups");
  }
  FfnSpec f;
  if (kinds.find('-') != std::string::npos) {
    f.kind = FfnKind::ReLU2;
    f.hidden = r.positive("intermediate_size");
    f.bias = r.boolean("mlp_bias", false);
    r.requireAct("mlp_hidden_act", "relu2", "relu2");
  }
  for (char c : kinds) {
    BlockSpec b;
    if (c == 'M') {
      b.mixer = MixerKind::Mamba2;
      b.ssm = m;
    } else if (c == '*') {
      b.mixer = MixerKind::Attention;
      b.attn = a;
    } else if (c == '-') {
      b.ffn = f;
    }
    s.blocks.push_back(b);
  }
}

void importFalconH1(Reader &r, ModelSpec &s) {
  s.normEps = r.number("rms_norm_eps", 1e-5);
  AttentionSpec a = readAttention(r, s.dModel);
  readRope(r, a, /*allowPartial=*/false, 1.0);
  a.qkvBias = a.outBias = r.boolean("attention_bias", false);

  Mamba2Spec m;
  int64_t inner = r.has("mamba_d_ssm")
                      ? r.positive("mamba_d_ssm")
                      : static_cast<int64_t>(r.number("mamba_expand", 2) * s.dModel);
  m.heads = r.positive("mamba_n_heads");
  m.headDim = headDimOrAuto(r, "mamba_d_head", inner, m.heads);
  m.state = r.positive("mamba_d_state");
  m.groups = r.positive("mamba_n_groups", 1);
  m.convWidth = r.positive("mamba_d_conv", 4);
  m.chunk = r.positive("mamba_chunk_size", 256);
  m.convBias = r.boolean("mamba_conv_bias", true);
  bool inBias = r.boolean("mamba_proj_bias", false);
  bool outBias = r.boolean("projectors_bias", false);
  if (inBias != outBias)
    r.unsupported("projectors_bias", outBias ? "true" : "false",
                  Twine("it must equal 'mamba_proj_bias' (") +
                      (inBias ? "true" : "false") +
                      "): hybridc has one bias flag for mamba in_proj and out_proj");
  m.projBias = inBias;
  m.gatedNorm = r.boolean("mamba_rms_norm", false);
  m.normBeforeGate = r.boolean("mamba_norm_before_gate", true);
  m.normGroups = m.groups;
  readTimeStep(r, m);
  checkMamba(r, m, inner, "mamba_n_heads", "mamba_n_groups");
  FfnSpec f = swiglu(r);

  Multipliers &u = s.mult;
  u.embedding = r.number("embedding_multiplier", 1.0);
  u.lmHead = r.number("lm_head_multiplier", 1.0);
  u.attentionIn = r.number("attention_in_multiplier", 1.0);
  u.attentionOut = r.number("attention_out_multiplier", 1.0);
  u.key = r.number("key_multiplier", 1.0);
  u.ssmIn = r.number("ssm_in_multiplier", 1.0);
  u.ssmOut = r.number("ssm_out_multiplier", 1.0);
  if (auto mm = r.numbers("mlp_multipliers", 2)) {
    u.mlpGate = (*mm)[0];
    u.mlpDown = (*mm)[1];
  }
  if (auto sm = r.numbers("ssm_multipliers", 5))
    u.ssmSegments = *sm;

  int64_t n = r.positive("num_hidden_layers");
  for (int64_t i = 0; i < n; ++i) {
    BlockSpec b;
    b.mixer = MixerKind::Parallel;
    b.attn = a;
    b.ssm = m;
    b.fuse.norm = BranchNorm::None;
    b.fuse.combine = Combine::Add;
    b.fuse.sharedOutProj = false;
    b.ffn = f;
    s.blocks.push_back(b);
  }
}

} // namespace

Expected<ModelSpec> importHFConfig(StringRef jsonText, StringRef name) {
  auto makeErr = [&](const Twine &msg) {
    return createStringError(inconvertibleErrorCode(),
                             "HF config '" + name + "': " + msg);
  };
  Expected<json::Value> parsed = json::parse(jsonText);
  if (!parsed)
    return makeErr("malformed JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return makeErr("the top level of config.json must be an object");

  std::string err;
  Reader r(*root, "", &err);
  auto type = r.optString("model_type");
  if (!type) {
    if (err.empty())
      r.missing("model_type");
    return makeErr(err);
  }
  static const char *const families[] = {"llama", "mamba2", "bamba",
                                         "nemotron_h", "falcon_h1"};
  if (llvm::find(families, *type) == std::end(families)) {
    r.unsupported("model_type", "'" + *type + "'",
                  "hybridc imports llama, mamba2, bamba, nemotron_h, falcon_h1");
    return makeErr(err);
  }
  ModelSpec s;
  s.name = name.str();
  s.family = *type;
  s.vocab = r.positive("vocab_size");
  s.dModel = r.positive("hidden_size");
  s.maxPosition = r.integer("max_position_embeddings", 0);
  s.tieEmbeddings = r.boolean("tie_word_embeddings", false);
  // MoE fields of families outside this list make no sense here; a few
  // generic ones are checked so a MoE variant never imports as dense.
  for (StringRef k : {"num_experts", "num_local_experts"})
    if (r.has(k) && r.integer(k, 0) > 0)
      r.unsupported(k, show(*r.val(k)), "mixture-of-experts is not supported");

  if (*type == "llama")
    importLlama(r, s);
  else if (*type == "mamba2")
    importMamba2(r, s);
  else if (*type == "bamba")
    importBamba(r, s);
  else if (*type == "nemotron_h")
    importNemotronH(r, s);
  else
    importFalconH1(r, s);
  if (!err.empty())
    return makeErr(err);
  return s;
}

Expected<ModelSpec> importHFPath(StringRef dirOrConfigJson) {
  SmallString<256> path(dirOrConfigJson);
  if (sys::fs::is_directory(path))
    sys::path::append(path, "config.json");
  auto buf = MemoryBuffer::getFile(path);
  if (!buf)
    return createStringError(buf.getError(), "cannot read '" + path +
                                                 "': " + buf.getError().message());
  // Name the model after the directory holding config.json, or after the
  // file itself when it has another name (llama-3.2-1b.json); keep it a
  // valid, readable symbol.
  StringRef name = sys::path::stem(path);
  if (name == "config") {
    name = sys::path::filename(sys::path::parent_path(path));
    if (name.empty() || name == ".")
      name = "model";
  }
  std::string symbol;
  for (char c : name)
    symbol.push_back(isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (symbol.empty() || isdigit(static_cast<unsigned char>(symbol[0])))
    symbol.insert(0, "m_");
  return importHFConfig((*buf)->getBuffer(), symbol);
}

} // namespace hybridc
