// Configuration files are edited by hand. The parser must answer any text
// with settings or InvalidArgument, and settings it accepts must survive
// being written back out as `key = value` lines and parsed again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/config_file.h"
#include "common/check.h"

namespace paxosfs::cli {
namespace {

std::string Render(const ServeConfig& config) {
  std::string text;
  auto line = [&](const char* key, std::string_view value) {
    text += std::string(key) + " = " + std::string(value) + "\n";
  };
  if (config.data_dir) line("data", *config.data_dir);
  if (config.mount_point) line("mount", *config.mount_point);
  if (config.no_mount) line("no-mount", *config.no_mount ? "true" : "false");
  if (config.verbose) line("verbose", *config.verbose ? "true" : "false");
  if (config.reserve_mib) {
    line("reserve-mib", std::to_string(*config.reserve_mib));
  }
  return text;
}

}  // namespace
}  // namespace paxosfs::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace paxosfs;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  StatusOr<cli::ServeConfig> config = cli::ParseServeConfig(text, "fuzz.conf");
  if (!config.ok()) {
    PAXOSFS_CHECK(config.status().code() == StatusCode::kInvalidArgument);
    return 0;
  }
  StatusOr<cli::ServeConfig> again =
      cli::ParseServeConfig(cli::Render(*config), "rendered.conf");
  PAXOSFS_CHECK(again.ok());
  PAXOSFS_CHECK(*again == *config);
  return 0;
}
