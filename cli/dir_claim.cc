#include "cli/dir_claim.h"

#include <filesystem>
#include <vector>

namespace paxosfs::cli {
namespace {

namespace fs = std::filesystem;

// The entries of a non-empty directory, quoted, at most a few.
std::string SomeEntries(const fs::path& dir, bool* leftovers) {
  std::vector<std::string> names;
  std::error_code ec;
  *leftovers = false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename();
    // What `init` and `join` write before the identity, which is last.
    if (name == "tls" || name == "log" || name == "rebuild") *leftovers = true;
    names.push_back("'" + name + "'");
  }
  std::string out;
  for (size_t i = 0; i < names.size() && i < 3; ++i) {
    out += (i > 0 ? ", " : "") + names[i];
  }
  if (names.size() > 3) out += ", ...";
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<DirClaim>> DirClaim::Make(const std::string& dir,
                                                   const std::string& flag) {
  const std::string what = flag + " " + dir;
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return Status::InvalidArgument(
          what +
          " is a file, not a directory; give the path of a new or "
          "empty directory");
    }
    bool leftovers = false;
    if (!fs::is_empty(dir, ec)) {
      std::string entries = SomeEntries(dir, &leftovers);
      if (leftovers) {
        return Status::AlreadyExists(
            what + " holds the start of a node (" + entries +
            ") but no identity: an init or join was interrupted. Remove it "
            "(rm -r " +
            dir + ") and run the command again");
      }
      return Status::AlreadyExists(what + " is not empty (it holds " + entries +
                                   "); give a new or empty directory");
    }
    if (ec) {
      return Status::IOError("cannot read " + what + ": " + ec.message());
    }
    return std::unique_ptr<DirClaim>(new DirClaim(dir, ""));
  }
  // The topmost missing ancestor is what a rollback removes.
  fs::path root = fs::absolute(dir, ec).lexically_normal();
  if (root.filename().empty()) root = root.parent_path();
  while (root.has_parent_path() && root.parent_path() != root &&
         !fs::exists(root.parent_path(), ec)) {
    root = root.parent_path();
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::IOError("cannot create " + what + ": " + ec.message() +
                           "; give a path in a directory you can write");
  }
  return std::unique_ptr<DirClaim>(new DirClaim(dir, root.string()));
}

DirClaim::~DirClaim() {
  if (keep_) return;
  std::error_code ec;
  if (!created_root_.empty()) {
    fs::remove_all(created_root_, ec);
    return;
  }
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
}

}  // namespace paxosfs::cli
