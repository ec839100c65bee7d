//===- hybridc.cpp - The hybridc compiler driver --------------------------===//
//
//   hybridc import-hf DIR_OR_CONFIG -o model.mlir
//   hybridc compile model.mlir -o model.hyb [--target cpu|cuda] [--max-context N]
//                   [--no-fuse=NAME,...] [--load-pass-plugin=LIB --passes=PIPELINE] [--compile-to=architecture|tensor|fused]
//                   [--model NAME]
//   hybridc report model.mlir [--context N] [--batch B] [--json]
//                  [--cache-dtype bf16|f16|f32] [--ssm-dtype bf16|f32]
//                  [--sweep 1024,2048,... --plot out.svg]
//
// Output files are written atomically (temporary file + rename).
//
//===----------------------------------------------------------------------===//
#include "compiler/ArtifactWriter.h"
#include "compiler/CostModel.h"
#include "compiler/HFImport.h"
#include "compiler/ModelSpecIR.h"
#include "compiler/Pipelines.h"
#include "compiler/SweepPlot.h"
#include "codegen/Emitter.h"
#include "passes/Passes.h"
#include "dialects/hybrid/HybridDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace llvm;
using namespace mlir;

namespace {
cl::OptionCategory toolCat("hybridc options");

cl::SubCommand importCmd("import-hf", "Import a Hugging Face config.json as a hybrid.model");
cl::opt<std::string> importInput(cl::Positional, cl::sub(importCmd), cl::Required,
                                 cl::desc("<model dir or config.json>"));
cl::opt<std::string> importOutput("o", cl::sub(importCmd), cl::init("-"),
                                  cl::desc("Output .mlir file (default: stdout)"));
cl::opt<std::string> importName("name", cl::sub(importCmd), cl::init(""),
                                cl::desc("Symbol name of the model (default: from the path)"));
cl::opt<bool> importNoCompress("no-patterns", cl::sub(importCmd),
                               cl::desc("Write every layer as its own hybrid.block"));

cl::SubCommand reportCmd("report", "Parameters, FLOPs per token and cache bytes of models");
cl::list<std::string> reportInputs(cl::Positional, cl::sub(reportCmd), cl::OneOrMore,
                                   cl::desc("<model.mlir>..."));
cl::opt<int64_t> reportContext("context", cl::sub(reportCmd), cl::init(2048),
                               cl::desc("Tokens per sequence (default 2048)"));
cl::opt<int64_t> reportBatch("batch", cl::sub(reportCmd), cl::init(1),
                             cl::desc("Sequences held in the caches (default 1)"));
cl::opt<bool> reportJson("json", cl::sub(reportCmd), cl::desc("Print JSON"));
cl::opt<std::string> reportCacheDtype("cache-dtype", cl::sub(reportCmd), cl::init("bf16"),
                                      cl::desc("KV / conv cache dtype: bf16 | f16 | f32"));
cl::opt<std::string> reportSsmDtype("ssm-dtype", cl::sub(reportCmd), cl::init("bf16"),
                                    cl::desc("SSM state dtype: bf16 | f16 | f32"));
cl::opt<std::string> reportSweep("sweep", cl::sub(reportCmd), cl::init(""),
                                 cl::desc("Comma-separated contexts: plot FLOPs and cache "
                                          "bytes against context length"));
cl::opt<std::string> reportPlot("plot", cl::sub(reportCmd), cl::init("sweep.svg"),
                                cl::desc("SVG written by --sweep (default sweep.svg)"));

cl::SubCommand compileCmd("compile", "Compile a model into a .hyb artifact");
cl::opt<std::string> compileInput(cl::Positional, cl::sub(compileCmd), cl::Required,
                                  cl::desc("<model.mlir>"));
cl::opt<std::string> compileOutput("o", cl::sub(compileCmd), cl::Required,
                                   cl::desc("Output .hyb file (or .mlir with --compile-to)"));
cl::opt<std::string> compileTarget("target", cl::sub(compileCmd), cl::init("cpu"),
                                   cl::desc("cpu | cuda (default cpu)"));
cl::opt<int64_t> compileMaxContext("max-context", cl::sub(compileCmd), cl::init(4096),
                                   cl::desc("KV cache length per sequence (default 4096)"));
cl::opt<std::string> compileModel("model", cl::sub(compileCmd), cl::init(""),
                                  cl::desc("Which hybrid.model of the file (default: the only one)"));
cl::opt<std::string> compileTo("compile-to", cl::sub(compileCmd), cl::init(""),
                               cl::desc("Stop after a phase and write its IR: architecture | "
                                        "tensor | fused"));
cl::opt<bool> compileTrain("train", cl::sub(compileCmd),
                           cl::desc("Also build the train_step program (forward, loss, backward)"));
cl::opt<int64_t> compileMemoryBudget("memory-budget", cl::sub(compileCmd), cl::init(0),
                                     cl::desc("With --train: bytes per token of activations kept "
                                              "for the backward (0: keep all)"));
cl::opt<int64_t> compileLossChunk("loss-chunk", cl::sub(compileCmd), cl::init(1024),
                                  cl::desc("With --train: tokens per chunk of the fused LM head "
                                           "+ loss (0: unfused, full logits)"));
cl::list<std::string> compilePlugins("load-pass-plugin", cl::sub(compileCmd),
                                     cl::desc("Load passes from a plugin library (repeatable)"));
cl::opt<std::string> compileUserPasses("passes", cl::sub(compileCmd), cl::init(""),
                                       cl::desc("Extra module passes (textual pipeline, e.g. "
                                                "\"my-fusion,canonicalize\") run before the "
                                                "built-in fusions"));
cl::list<std::string> compileNoFuse("no-fuse", cl::sub(compileCmd), cl::CommaSeparated,
                                    cl::desc("Switch fusions off: rope-attention, mamba, "
                                             "parallel, add-rmsnorm, epilogues, or all"));

int fail(const Twine &msg) {
  errs() << "hybridc: error: " << msg << "\n";
  return 1;
}

Expected<int64_t> dtypeBytes(StringRef name, StringRef flag) {
  if (name == "bf16" || name == "f16")
    return 2;
  if (name == "f32")
    return 4;
  return createStringError(inconvertibleErrorCode(),
                           "--" + flag + " must be bf16, f16 or f32, got '" + name + "'");
}

void registerAll(DialectRegistry &registry) {
  registry.insert<mlir::hybrid::HybridDialect, func::FuncDialect>();
}

/// Parses `path` and runs the architecture pipeline (expand, select layout).
OwningOpRef<ModuleOp> loadArchitecture(MLIRContext &ctx, StringRef path) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  std::string err;
  auto file = mlir::openInputFile(path, &err);
  if (!file) {
    fail(err);
    return {};
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  if (!module)
    return {};
  PassManager pm(&ctx);
  hybridc::buildArchitecturePipeline(pm, {});
  if (failed(pm.run(*module)))
    return {};
  return module;
}

int runImport() {
  Expected<hybridc::ModelSpec> spec = hybridc::importHFPath(importInput);
  if (!spec)
    return fail(toString(spec.takeError()));
  if (!importName.empty())
    spec->name = importName;
  DialectRegistry registry;
  registerAll(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  OpBuilder b(&ctx);
  Location loc = FileLineColLoc::get(&ctx, importInput, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  hybridc::buildModel(b, loc, *spec, !importNoCompress);
  if (failed(verify(*module)))
    return fail("the imported model does not verify (see above)");
  Error e = writeToOutput(importOutput, [&](raw_ostream &os) -> Error {
    os << "// Imported by `hybridc import-hf` from " << importInput << " ("
       << spec->family << ", " << spec->blocks.size() << " layers)\n";
    module->print(os);
    return Error::success();
  });
  if (e)
    return fail("cannot write " + importOutput + ": " + toString(std::move(e)));
  return 0;
}

int runCompile() {
  DialectRegistry registry;
  registerAll(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = loadArchitecture(ctx, compileInput);
  if (!module)
    return 1;
  SmallVector<mlir::hybrid::ModelOp> models(module->getOps<mlir::hybrid::ModelOp>());
  mlir::hybrid::ModelOp model;
  for (mlir::hybrid::ModelOp m : models)
    if (compileModel.empty() ? models.size() == 1 : m.getSymName() == compileModel)
      model = m;
  if (!model) {
    std::string names;
    for (mlir::hybrid::ModelOp m : models)
      names += (names.empty() ? "" : ", ") + m.getSymName().str();
    return fail(compileInput + ": " +
                (compileModel.empty() ? "holds " + std::to_string(models.size()) +
                                            " models; pick one with --model (" + names + ")"
                                      : "has no model '" + compileModel + "' (" + names + ")"));
  }
  auto writeIR = [&](Operation *op) -> int {
    if (Error e = writeToOutput(compileOutput, [&](raw_ostream &os) -> Error {
          op->print(os);
          os << "\n";
          return Error::success();
        }))
      return fail("cannot write " + compileOutput + ": " + toString(std::move(e)));
    return 0;
  };
  if (compileTo == "architecture")
    return writeIR(*module);
  if (!compileTo.empty() && compileTo != "tensor" && compileTo != "fused")
    return fail("--compile-to must be architecture, tensor or fused, got '" + compileTo + "'");
  hybridc::PipelineOptions popts;
  popts.stopAfter = compileTo == "tensor" ? hybridc::Phase::Tensor : hybridc::Phase::Fused;
  for (const std::string &name : compileNoFuse) {
    if (name == "all") {
      const auto &all = hybridc::fusionNames();
      popts.disabledFusions.insert(all.begin(), all.end());
      continue;
    }
    const auto &known = hybridc::fusionNames();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string &k : known)
        list += (list.empty() ? "" : ", ") + k;
      return fail("--no-fuse: unknown fusion '" + name + "' (" + list + ", all)");
    }
    popts.disabledFusions.insert(name);
  }
  FailureOr<hybridc::ModelSpec> spec = hybridc::specFromModel(model);
  if (failed(spec))
    return 1;
  hybridc::ArtifactOptions opts;
  opts.target = compileTarget;
  opts.maxContext = compileMaxContext;
  llvm::raw_string_ostream src(opts.sourceMlir);
  model->print(src);
  if (compileTarget != "cpu" && compileTarget != "cuda")
    return fail("--target must be cpu or cuda, got '" + compileTarget + "'");

  // Lower only the chosen model.
  for (mlir::hybrid::ModelOp m : models)
    if (m != model)
      m.erase();
  for (const std::string &path : compilePlugins) {
    auto plugin = PassPlugin::load(path);
    if (!plugin)
      return fail("cannot load pass plugin '" + path + "': " + toString(plugin.takeError()));
    plugin->registerPassRegistryCallbacks();
  }
  popts.userPasses = compileUserPasses;
  PassManager pm(&ctx);
  std::string pipelineError;
  raw_string_ostream pipelineErrors(pipelineError);
  if (failed(hybridc::buildPipeline(pm, popts, pipelineErrors)))
    return fail("--passes: " + pipelineErrors.str());
  if (compileTrain) {
    mlir::hybrid::HybridAutodiffOptions ad;
    ad.memoryBudget = compileMemoryBudget;
    ad.chunkedLoss = compileLossChunk > 0;
    ad.lossChunk = std::max<int64_t>(1, compileLossChunk);
    pm.addPass(mlir::hybrid::createHybridAutodiff(ad));
  }
  if (failed(pm.run(*module)))
    return 1;
  if (!compileTo.empty())
    return writeIR(*module);
  func::FuncOp fn, trainFn;
  for (auto f : module->getOps<func::FuncOp>()) {
    if (f->hasAttr("hybrid.model"))
      fn = f;
    if (f->hasAttr("hybrid.train_step"))
      trainFn = f;
  }
  if (!fn)
    return fail("lowering produced no forward function");
  hybridc::PlanSummary summary;
  Expected<std::string> bytes = hybridc::buildArtifact(fn, trainFn, *spec, opts, &summary);
  if (!bytes)
    return fail(toString(bytes.takeError()));
  // --target cuda: codegen (codegen/Emitter.h) emits the model's CUDA unit,
  // runs nvcc and stores the fatbin and kernel names in the artifact.
  if (compileTarget == "cuda") {
    std::string withFatbin, error;
    if (!::hybrid::codegen::buildCudaArtifact(*bytes, {}, withFatbin, error))
      return fail("--target cuda: " + error);
    *bytes = std::move(withFatbin);
  }
  if (Error e = writeToOutput(compileOutput, [&](raw_ostream &os) -> Error {
        os << *bytes;
        return Error::success();
      }))
    return fail("cannot write " + compileOutput + ": " + toString(std::move(e)));
  outs() << formatv("compiled {0} -> {1} ({2} bytes, target {3}): {4} instructions, {5} cache "
                    "slots, arena {6} bytes/token ({7} without reuse), max context {8}\n",
                    spec->name, compileOutput, bytes->size(), compileTarget,
                    summary.instructions, summary.caches, summary.arenaBytesPerToken,
                    summary.sumBytesPerToken, compileMaxContext.getValue());
  if (trainFn)
    outs() << formatv("train_step: arena {0} bytes/token, fixed {1} bytes (loss and gradients)\n",
                      summary.trainArenaBytesPerToken, summary.trainFixedBytes);
  return 0;
}

int runReport() {
  hybridc::ReportOptions opts;
  opts.context = reportContext;
  opts.batch = reportBatch;
  auto kv = dtypeBytes(reportCacheDtype, "cache-dtype");
  if (!kv)
    return fail(toString(kv.takeError()));
  auto ssm = dtypeBytes(reportSsmDtype, "ssm-dtype");
  if (!ssm)
    return fail(toString(ssm.takeError()));
  opts.cacheBytesPerElement = *kv;
  opts.ssmStateBytesPerElement = *ssm;
  if (Error e = hybridc::checkReportOptions(opts))
    return fail(toString(std::move(e)));

  DialectRegistry registry;
  registerAll(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  std::vector<std::pair<std::string, hybridc::ModelSpec>> specs;
  std::vector<OwningOpRef<ModuleOp>> modules;
  for (const std::string &path : reportInputs) {
    OwningOpRef<ModuleOp> module = loadArchitecture(ctx, path);
    if (!module)
      return 1;
    bool any = false;
    for (auto model : module->getOps<mlir::hybrid::ModelOp>()) {
      FailureOr<hybridc::ModelSpec> spec = hybridc::specFromModel(model);
      if (failed(spec))
        return 1;
      specs.emplace_back(spec->name, std::move(*spec));
      any = true;
    }
    if (!any)
      return fail(path + " holds no hybrid.model");
    modules.push_back(std::move(module));
  }

  if (!reportSweep.empty()) {
    std::vector<int64_t> contexts;
    SmallVector<StringRef> parts;
    StringRef(reportSweep).split(parts, ',', -1, false);
    for (StringRef p : parts) {
      int64_t v;
      if (p.trim().getAsInteger(10, v) || v <= 0)
        return fail("--sweep takes positive integers separated by commas, got '" + p + "'");
      contexts.push_back(v);
    }
    std::string svg = hybridc::sweepSvg(specs, contexts, opts);
    if (Error e = writeToOutput(reportPlot, [&](raw_ostream &os) -> Error {
          os << svg;
          return Error::success();
        }))
      return fail("cannot write " + reportPlot + ": " + toString(std::move(e)));
    // One line per model and context, so the plot's numbers can be read too.
    size_t nameWidth = 5;
    for (auto &entry : specs)
      nameWidth = std::max(nameWidth, entry.first.size());
    outs() << left_justify("model", nameWidth)
           << formatv(" {0,9} {1,16} {2,14}\n", "context", "fwd FLOPs/token", "cache");
    for (auto &[name, spec] : specs)
      for (int64_t c : contexts) {
        hybridc::ReportOptions o = opts;
        o.context = c;
        auto r = hybridc::computeCost(spec, o);
        outs() << left_justify(name, nameWidth)
               << formatv(" {0,9} {1,16} {2,14}\n", c,
                          hybridc::formatCount(r.flopsForwardPerToken),
                          hybridc::formatBytes(r.totalCacheBytes));
      }
    outs() << "wrote " << reportPlot << "\n";
    return 0;
  }

  if (reportJson) {
    if (specs.size() > 1)
      outs() << "[\n";
    for (size_t i = 0; i < specs.size(); ++i) {
      auto r = hybridc::computeCost(specs[i].second, opts);
      outs() << hybridc::costToJson(specs[i].second, opts, r);
      if (specs.size() > 1 && i + 1 < specs.size())
        outs() << ",";
      outs() << "\n";
    }
    if (specs.size() > 1)
      outs() << "]\n";
    return 0;
  }
  for (auto &[name, spec] : specs) {
    auto r = hybridc::computeCost(spec, opts);
    outs() << hybridc::costToTable(spec, opts, r) << "\n";
  }
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "hybridc: compiler for hybrid attention / Mamba-2 language models\n\n"
      "  hybridc import-hf DIR_OR_CONFIG -o model.mlir\n"
      "  hybridc compile model.mlir -o model.hyb [--target cpu|cuda] [--max-context N]\n"
      "  hybridc report model.mlir [--context N] [--batch B] [--json] [--sweep 1024,2048,...]\n");
  if (importCmd)
    return runImport();
  if (reportCmd)
    return runReport();
  if (compileCmd)
    return runCompile();
  cl::PrintHelpMessage();
  return 1;
}
