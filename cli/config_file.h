// The configuration file of `paxosfs serve --config FILE` (the systemd unit
// runs `paxosfs serve --config /etc/paxosfs/NAME.conf`).
//
// Format: one `key = value` per line. Blank lines and lines whose first
// non-blank character is `#` are ignored; a `#` elsewhere is part of the
// value (paths may hold one). Spaces around the key and the value are
// trimmed. Each key may appear once. The keys are the long options of
// `paxosfs serve`, without the dashes:
//
//   data = /var/lib/paxosfs/main   data directory made by `paxosfs init`
//   mount = /srv/paxosfs            empty directory to mount (absolute path)
//   no-mount = false                true: replicate without mounting
//   verbose = false                 true: log debug lines
//   reserve-mib = 256               MiB kept free on the data directory's
//                                   file system (writes get ENOSPC below)
//
// Paths must be absolute (a service starts in `/`). Booleans are true/false,
// yes/no, on/off or 1/0. `mount` and `no-mount = true` exclude each other.
// An option given on the command line overrides the file (for the mount,
// --mount or --no-mount on the command line overrides both keys).
//
// Every error names the file and the line, says what is wrong and how to
// fix it: "/etc/paxosfs/main.conf:7: unknown key 'mountpoint'; ...".
//
// Thread safety: plain values and free functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cli/serve_command.h"
#include "common/status.h"

namespace paxosfs::cli {

// The settings a file gave; an unset member was not in the file.
struct ServeConfig {
  std::optional<std::string> data_dir;
  std::optional<std::string> mount_point;
  std::optional<bool> no_mount;
  std::optional<bool> verbose;
  std::optional<uint64_t> reserve_mib;
  bool operator==(const ServeConfig&) const = default;
};

// Parses the text of a configuration file; `file_name` is only used in
// error messages (kInvalidArgument).
StatusOr<ServeConfig> ParseServeConfig(std::string_view text,
                                       const std::string& file_name);

// Reads and parses `path`: kNotFound if it does not exist, kIOError if it
// cannot be read, kInvalidArgument for a directory or a bad line.
StatusOr<ServeConfig> ReadServeConfig(const std::string& path);

// Which options of `paxosfs serve` were given on the command line.
struct ServeFlagsGiven {
  bool data_dir = false;
  bool mount_point = false;
  bool no_mount = false;
  bool verbose = false;
  bool reserve_mib = false;
};

// Fills the members of `flags` not given on the command line from `config`.
// --mount or --no-mount on the command line decide the mount alone: the
// file's `mount` and `no-mount` are then both ignored.
void MergeServeConfig(const ServeConfig& config, const ServeFlagsGiven& given,
                      ServeFlags* flags);

}  // namespace paxosfs::cli
