// Checks of the values a user gives `paxosfs` (flags, config file, member
// lists), made before a command touches a disk or the network. Each error
// quotes the value, says what is wrong with it and shows a good one; the
// caller prefixes the flag's name.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace paxosfs::cli {

// Exit codes of every `paxosfs` command (cli/README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // Understood, but it could not be done.
inline constexpr int kExitUsage = 2;    // Fix the command line or config file.
inline constexpr int kExitPartial = 3;  // `status`: some members are down.

// Node ids of founders (`init --node-id`, `--members`) stay far below
// 2^64 so that the cluster's next id can never wrap to 0.
inline constexpr uint64_t kMaxFounderNodeId = 1'000'000;

// HOST:PORT of a peer service: a non-empty host (a name, an IPv4 address
// or an IPv6 address in brackets, [::1]:7000) and a port from 1 to 65535.
// kInvalidArgument otherwise, e.g. "'10.0.0.1' has no port; write
// HOST:PORT, e.g. 10.0.0.1:7000".
Status CheckAddress(const std::string& text);

// A cluster id: 1 to 64 letters, digits, '.', '_' or '-' (it is written
// into the identity file and every certificate).
Status CheckClusterId(const std::string& text);

// `text` as a whole decimal number in [min, max]: no sign, no fraction, no
// unit, no overflow. `unit` (e.g. "MiB/s") is named in the error.
StatusOr<uint64_t> ParseWholeNumber(const std::string& text, uint64_t min,
                                    uint64_t max, const std::string& unit);

}  // namespace paxosfs::cli
