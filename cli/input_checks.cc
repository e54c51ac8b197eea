#include "cli/input_checks.h"

#include <cctype>

namespace paxosfs::cli {
namespace {

const char kAddressExample[] = "write HOST:PORT, e.g. 10.0.0.1:7000";

Status BadAddress(const std::string& text, const std::string& why) {
  return Status::InvalidArgument("'" + text + "' " + why + "; " +
                                 kAddressExample);
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
         c == '_';
}

}  // namespace

Status CheckAddress(const std::string& text) {
  if (text.empty()) return BadAddress(text, "is empty");
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return BadAddress(text, "has no port");
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (host.empty()) return BadAddress(text, "has no host before ':'");
  if (host.front() == '[') {
    bool v6 = host.size() > 2 && host.back() == ']';
    for (size_t i = 1; v6 && i + 1 < host.size(); ++i) {
      v6 = std::isxdigit(static_cast<unsigned char>(host[i])) ||
           host[i] == ':' || host[i] == '.';
    }
    if (!v6) {
      return BadAddress(text, "has a bad IPv6 host (write it as [::1])");
    }
  } else {
    for (char c : host) {
      if (c == ':') {
        return BadAddress(text,
                          "has more than one ':' (put an IPv6 host in "
                          "brackets, [::1]:7000)");
      }
      if (!IsHostChar(c)) {
        return BadAddress(text, "has a character a host name cannot hold ('" +
                                    std::string(1, c) + "')");
      }
    }
  }
  auto number = ParseWholeNumber(port, 1, 65535, "");
  if (!number.ok()) {
    return BadAddress(
        text, "has port '" + port + "', which is not a number from 1 to 65535");
  }
  return Status::Ok();
}

Status CheckClusterId(const std::string& text) {
  bool ok = !text.empty() && text.size() <= 64;
  for (char c : text) ok = ok && IsHostChar(c);
  if (!ok) {
    return Status::InvalidArgument(
        "'" + text +
        "' is not a cluster id: use 1 to 64 letters, digits, '.', '_' or "
        "'-', e.g. prod-1 (or leave it out for a random one)");
  }
  return Status::Ok();
}

StatusOr<uint64_t> ParseWholeNumber(const std::string& text, uint64_t min,
                                    uint64_t max, const std::string& unit) {
  uint64_t value = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    if (!ok) break;
    ok = std::isdigit(static_cast<unsigned char>(c)) != 0;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    ok = ok && value <= (UINT64_MAX - digit) / 10;
    if (ok) value = value * 10 + digit;
  }
  if (!ok || value < min || value > max) {
    std::string range =
        max == UINT64_MAX
            ? "of " + std::to_string(min) + " or more"
            : "from " + std::to_string(min) + " to " + std::to_string(max);
    return Status::InvalidArgument("'" + text + "' is not a whole number " +
                                   range +
                                   (unit.empty() ? "" : " (" + unit + ")"));
  }
  return value;
}

}  // namespace paxosfs::cli
