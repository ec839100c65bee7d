//===- Checkpoint.cpp - Training checkpoint directories -------------------===//
#include "runtime/train/Checkpoint.h"

#include "runtime/support/FileUtil.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hybrid {

const char *const kCheckpointFileNames[5] = {"weights.safetensors", "optimizer.safetensors",
                                             "state.json", "loss.csv", "loss.svg"};

namespace {

bool isDir(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/// mkdir -p of the folders above `path` (as a training run's --out of a new
/// nested folder expects); the checkpoint folder itself is made atomically.
Status makeParentDirs(const std::string &path) {
  for (size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1)) {
    const std::string prefix = path.substr(0, i);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      return HYBRID_ERROR("cannot create the folder ", prefix, " for ", path, ": ",
                          std::strerror(errno));
    if (!isDir(prefix))
      return HYBRID_ERROR(prefix, " is not a folder (needed for ", path, ")");
  }
  return Status();
}

bool dirIsEmpty(const std::string &path) {
  DIR *d = ::opendir(path.c_str());
  if (!d)
    return false;
  bool empty = true;
  while (struct dirent *e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

std::string parentOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Makes a rename inside `dir` durable.
void syncDir(const std::string &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// Deletes our files from `dir`, then the directory if that left it empty.
void removeCheckpoint(const std::string &dir) {
  for (const char *name : kCheckpointFileNames)
    ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str()); // fails, harmlessly, when someone put other files there
}

std::string stripSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  return dir;
}

} // namespace

bool isCheckpointDir(const std::string &dir) {
  struct stat st;
  return isDir(dir) && ::stat((dir + "/state.json").c_str(), &st) == 0;
}

StatusOr<std::string> readTextFile(const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return HYBRID_ERROR("cannot open ", path, ": ", std::strerror(errno));
  std::string text;
  char buf[1 << 14];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad)
    return HYBRID_ERROR("error reading ", path);
  return text;
}

Status writeCheckpointDir(const std::string &dirIn, const CheckpointFiles &files) {
  const std::string dir = stripSlashes(dirIn);
  if (dir.empty())
    return HYBRID_ERROR("empty checkpoint directory name");
  const bool exists = isDir(dir);
  if (exists && !isCheckpointDir(dir) && !dirIsEmpty(dir))
    return HYBRID_ERROR("refusing to replace ", dir,
                        ": it is a non-empty directory without state.json, not a checkpoint");
  struct stat info;
  if (!exists && ::lstat(dir.c_str(), &info) == 0)
    return HYBRID_ERROR("checkpoint path ", dir, " exists and is not a directory");

  HYBRID_RETURN_IF_ERROR(makeParentDirs(dir));
  std::string tmpl = dir + ".tmp-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    return HYBRID_ERROR("cannot create a temporary directory next to ", dir, " (", tmpl,
                        "): ", std::strerror(errno));
  const std::string tmp = tmpl;
  auto failWith = [&](Status st) {
    removeCheckpoint(tmp);
    return st.context(strCat("writing checkpoint ", dir));
  };
  Status st = writeSafetensors(tmp + "/weights.safetensors", files.weights,
                               {{"format", "pt"}, {"producer", "hybrid-run train"}});
  if (!st.ok())
    return failWith(st);
  st = writeSafetensors(tmp + "/optimizer.safetensors", files.optimizer,
                        {{"producer", "hybrid-run train"}, {"optimizer", "AdamW"}});
  if (!st.ok())
    return failWith(st);
  st = writeFileAtomic(tmp + "/state.json", files.stateJson.data(), files.stateJson.size());
  if (!st.ok())
    return failWith(st);
  for (const auto &[name, bytes] : files.extra) {
    st = writeFileAtomic(tmp + "/" + name, bytes.data(), bytes.size());
    if (!st.ok())
      return failWith(st);
  }
  syncDir(tmp);

  const std::string parent = parentOf(dir);
  if (!exists) {
    if (::rename(tmp.c_str(), dir.c_str()) != 0)
      return failWith(HYBRID_ERROR("cannot rename ", tmp, " to ", dir, ": ", std::strerror(errno)));
    syncDir(parent);
    return Status();
  }
  // Swap old and new in one step; the old one then sits at `tmp`.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
    syncDir(parent);
    removeCheckpoint(tmp);
    return Status();
  }
  if (errno != EINVAL && errno != ENOSYS)
    return failWith(HYBRID_ERROR("cannot exchange ", tmp, " with ", dir, ": ", std::strerror(errno)));
  // No RENAME_EXCHANGE here: move the old one aside first, keep it until
  // the new one is in place.
  std::string oldTmpl = dir + ".old-XXXXXX";
  if (!::mkdtemp(oldTmpl.data()))
    return failWith(HYBRID_ERROR("cannot create ", oldTmpl, ": ", std::strerror(errno)));
  ::rmdir(oldTmpl.c_str()); // rename needs the name free (or an empty dir: keep it simple)
  if (::rename(dir.c_str(), oldTmpl.c_str()) != 0)
    return failWith(HYBRID_ERROR("cannot move ", dir, " aside: ", std::strerror(errno)));
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    int err = errno;
    ::rename(oldTmpl.c_str(), dir.c_str()); // put the old one back
    return failWith(HYBRID_ERROR("cannot rename ", tmp, " to ", dir, ": ", std::strerror(err)));
  }
  syncDir(parent);
  removeCheckpoint(oldTmpl);
  return Status();
}

} // namespace hybrid
