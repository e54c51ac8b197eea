#include "cli/config_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/input_checks.h"

namespace paxosfs::cli {
namespace {

constexpr const char* kKeyList = "data, mount, no-mount, verbose, reserve-mib";

std::string_view Trim(std::string_view s) {
  const char* blanks = " \t\r";
  size_t begin = s.find_first_not_of(blanks);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(blanks);
  return s.substr(begin, end - begin + 1);
}

Status BadLine(const std::string& file, int line, const std::string& why) {
  return Status::InvalidArgument(file + ":" + std::to_string(line) + ": " +
                                 why);
}

std::optional<bool> ParseBool(std::string_view v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

// The fix for a key that is not one of ours but looks like one.
std::string KeyHint(std::string_view key) {
  std::string k(key);
  while (!k.empty() && k[0] == '-') k.erase(0, 1);
  for (char& c : k) {
    if (c == '_') c = '-';
  }
  if (k == "data" || k == "data-dir") return "; write 'data = DIR'";
  if (k == "mount" || k == "mount-point" || k == "mountpoint") {
    return "; write 'mount = DIR'";
  }
  if (k == "no-mount" || k == "nomount") return "; write 'no-mount = true'";
  if (k == "verbose") return "; write 'verbose = true'";
  if (k == "reserve" || k == "reserve-mib")
    return "; write 'reserve-mib = 256'";
  return std::string("; the keys are ") + kKeyList;
}

// Applies one `key = value` line to `config`.
Status SetKey(std::string_view key, std::string_view value,
              const std::string& file, int line, ServeConfig* config) {
  auto path_value = [&](std::optional<std::string>* out) -> Status {
    if (value.empty()) {
      return BadLine(file, line,
                     "'" + std::string(key) + "' needs a path after '='");
    }
    if (value[0] != '/') {
      return BadLine(file, line,
                     "'" + std::string(key) + " = " + std::string(value) +
                         "' is not an absolute path; write it from '/' (a "
                         "service does not start in your directory)");
    }
    *out = std::string(value);
    return Status::Ok();
  };
  auto bool_value = [&](std::optional<bool>* out) -> Status {
    std::optional<bool> b = ParseBool(value);
    if (!b) {
      return BadLine(file, line,
                     "'" + std::string(key) + " = " + std::string(value) +
                         "' is not a boolean; write true or false");
    }
    *out = *b;
    return Status::Ok();
  };
  if (key == "data") return path_value(&config->data_dir);
  if (key == "mount") return path_value(&config->mount_point);
  if (key == "no-mount") return bool_value(&config->no_mount);
  if (key == "verbose") return bool_value(&config->verbose);
  if (key == "reserve-mib") {
    auto n = ParseWholeNumber(std::string(value), 0, 1 << 20, "MiB");
    if (!n.ok()) {
      return BadLine(
          file, line,
          "reserve-mib: " + n.status().message() + " (0: no reserve)");
    }
    config->reserve_mib = *n;
    return Status::Ok();
  }
  return BadLine(file, line,
                 "unknown key '" + std::string(key) + "'" + KeyHint(key));
}

}  // namespace

StatusOr<ServeConfig> ParseServeConfig(std::string_view text,
                                       const std::string& file_name) {
  ServeConfig config;
  std::map<std::string, int, std::less<>> seen;  // key -> first line.
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return BadLine(
          file_name, line_no,
          "'" + std::string(line) +
              "' has no '='; write 'key = value' (keys: " + kKeyList + ")");
    }
    std::string_view key = Trim(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 1));
    if (key.empty()) {
      return BadLine(file_name, line_no,
                     "a key is missing before '='; write 'key = value' "
                     "(keys: " +
                         std::string(kKeyList) + ")");
    }
    auto [it, inserted] = seen.emplace(std::string(key), line_no);
    if (!inserted) {
      return BadLine(file_name, line_no,
                     "'" + std::string(key) + "' is already set on line " +
                         std::to_string(it->second) + "; keep one of them");
    }
    PAXOSFS_RETURN_IF_ERROR(SetKey(key, value, file_name, line_no, &config));
  }
  if (config.mount_point && config.no_mount.value_or(false)) {
    return Status::InvalidArgument(
        file_name +
        ": 'mount' and 'no-mount = true' exclude each other; "
        "keep one of them");
  }
  return config;
}

StatusOr<ServeConfig> ReadServeConfig(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(
        path + " is a directory; give the configuration file (e.g. " + path +
        "/main.conf)");
  }
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    std::string why = path + ": " + std::strerror(err);
    if (err == ENOENT) {
      return Status::NotFound(why +
                              "; give the path of an existing file "
                              "(the package ships "
                              "/etc/paxosfs/main.conf)");
    }
    return Status::IOError(why);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read failed");
  return ParseServeConfig(text.str(), path);
}

void MergeServeConfig(const ServeConfig& config, const ServeFlagsGiven& given,
                      ServeFlags* flags) {
  if (!given.data_dir && config.data_dir) flags->data_dir = *config.data_dir;
  if (!given.mount_point && !given.no_mount) {
    if (config.mount_point) flags->mount_point = *config.mount_point;
    if (config.no_mount) flags->no_mount = *config.no_mount;
  }
  if (!given.verbose && config.verbose) flags->verbose = *config.verbose;
  if (!given.reserve_mib && config.reserve_mib) {
    flags->reserve_mib = *config.reserve_mib;
  }
}

}  // namespace paxosfs::cli
