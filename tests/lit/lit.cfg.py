import os

import lit.formats
from lit.llvm import llvm_config

config.name = "hybridc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hybridc_obj_root, "tests", "lit")

config.substitutions.append(("%hybridc_src", config.hybridc_src_root))
config.substitutions.append(("%hybridc_lib", config.hybridc_lib_dir))
config.substitutions.append(("%models", os.path.join(config.hybridc_src_root, "models")))
config.substitutions.append(("%fixtures", os.path.join(config.hybridc_src_root, "tests", "fixtures")))

llvm_config.with_system_environment(["HOME", "PATH"])
llvm_config.use_default_substitutions()
tool_dirs = [config.hybridc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["hybrid-opt", "hybridc", "hybrid-run", "npy-compare", "gradcheck"], tool_dirs)
config.environment["PATH"] = os.pathsep.join(tool_dirs + [config.environment.get("PATH", "")])

# Real English text for training tests: Debian's fortunes (tools/setup.sh
# installs it). Tests that need it say `REQUIRES: fortunes`.
fortunes_dir = "/usr/share/games/fortunes"
fortunes_files = ["fortunes", "literature", "wisdom", "science", "people"]
if all(os.path.exists(os.path.join(fortunes_dir, f)) for f in fortunes_files):
    config.available_features.add("fortunes")
    config.substitutions.append(("%fortunes", ",".join(os.path.join(fortunes_dir, f) for f in fortunes_files)))

# A machine with an NVIDIA GPU (a working driver): tests of the errors
# without one say `UNSUPPORTED: nvidia-gpu`.
import shutil
import subprocess
if shutil.which("nvidia-smi"):
    try:
        if subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0:
            config.available_features.add("nvidia-gpu")
    except Exception:
        pass
