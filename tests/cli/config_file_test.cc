#include "cli/config_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace paxosfs::cli {
namespace {

constexpr const char* kFile = "/etc/paxosfs/main.conf";

// The error message of parsing `text`, or "" if it parsed.
std::string ErrorOf(const std::string& text) {
  auto parsed = ParseServeConfig(text, kFile);
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST(ConfigFileTest, Parse_AllKeysWithCommentsAndBlanks) {
  auto parsed = ParseServeConfig(
      "# paxosfs node\n"
      "\n"
      "  data = /var/lib/paxosfs/main  \n"
      "mount=/srv/paxos#fs\n"
      "\t# indented comment\n"
      "verbose = yes\r\n"
      "no-mount = off\n",
      kFile);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->data_dir, "/var/lib/paxosfs/main");
  EXPECT_EQ(parsed->mount_point, "/srv/paxos#fs");
  EXPECT_EQ(parsed->verbose, true);
  EXPECT_EQ(parsed->no_mount, false);
}

TEST(ConfigFileTest, Parse_EmptyText_NothingSet) {
  auto parsed = ParseServeConfig("", kFile);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, ServeConfig());
}

TEST(ConfigFileTest, Parse_Booleans) {
  for (const char* t : {"true", "yes", "on", "1"}) {
    auto parsed = ParseServeConfig(std::string("verbose = ") + t, kFile);
    ASSERT_TRUE(parsed.ok()) << t;
    EXPECT_EQ(parsed->verbose, true) << t;
  }
  for (const char* f : {"false", "no", "off", "0"}) {
    auto parsed = ParseServeConfig(std::string("verbose = ") + f, kFile);
    ASSERT_TRUE(parsed.ok()) << f;
    EXPECT_EQ(parsed->verbose, false) << f;
  }
}

TEST(ConfigFileTest, Parse_UnknownKey_NamesFileLineAndKeys) {
  std::string e = ErrorOf("data = /d\n\ncolour = blue\n");
  EXPECT_NE(e.find("/etc/paxosfs/main.conf:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'colour'"), std::string::npos) << e;
  EXPECT_NE(e.find("data, mount, no-mount, verbose"), std::string::npos) << e;
}

TEST(ConfigFileTest, Parse_FlagSpelledKey_SuggestsTheKey) {
  EXPECT_NE(ErrorOf("--mount = /m").find("write 'mount = DIR'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("data_dir = /d").find("write 'data = DIR'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("no_mount = 1").find("write 'no-mount = true'"),
            std::string::npos);
}

TEST(ConfigFileTest, Parse_MissingEquals_NamesLineAndFix) {
  std::string e = ErrorOf("# c\ndata /var/lib/paxosfs\n");
  EXPECT_NE(e.find(":2:"), std::string::npos) << e;
  EXPECT_NE(e.find("has no '='"), std::string::npos) << e;
  EXPECT_NE(e.find("key = value"), std::string::npos) << e;
}

TEST(ConfigFileTest, Parse_MissingKey) {
  std::string e = ErrorOf(" = /d");
  EXPECT_NE(e.find(":1: a key is missing"), std::string::npos) << e;
}

TEST(ConfigFileTest, Parse_BadBoolean_SaysTrueOrFalse) {
  std::string e = ErrorOf("verbose = maybe");
  EXPECT_NE(e.find(":1: 'verbose = maybe' is not a boolean"), std::string::npos)
      << e;
  EXPECT_NE(e.find("write true or false"), std::string::npos) << e;
}

TEST(ConfigFileTest, Parse_EmptyPath_Refused) {
  std::string e = ErrorOf("mount =");
  EXPECT_NE(e.find(":1: 'mount' needs a path"), std::string::npos) << e;
}

TEST(ConfigFileTest, Parse_RelativePath_Refused) {
  std::string e = ErrorOf("data = var/lib/paxosfs");
  EXPECT_NE(e.find("not an absolute path"), std::string::npos) << e;
}

TEST(ConfigFileTest, Parse_DuplicateKey_NamesBothLines) {
  std::string e = ErrorOf("data = /a\ndata = /b\n");
  EXPECT_NE(e.find(":2: 'data' is already set on line 1"), std::string::npos)
      << e;
}

TEST(ConfigFileTest, Parse_MountAndNoMount_Refused) {
  std::string e = ErrorOf("mount = /m\nno-mount = true\n");
  EXPECT_NE(e.find("exclude each other"), std::string::npos) << e;
  EXPECT_TRUE(ErrorOf("mount = /m\nno-mount = false\n").empty());
}

TEST(ConfigFileTest, Read_MissingFile_NotFound) {
  auto read = ReadServeConfig("/nonexistent/paxosfs.conf");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("/nonexistent/paxosfs.conf"),
            std::string::npos);
}

TEST(ConfigFileTest, Read_File_ParsesAndNamesFileInErrors) {
  char tmpl[] = "/tmp/paxosfs-config-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/node.conf";
  { std::ofstream(path) << "data = /d\nmount = /m\n"; }
  auto read = ReadServeConfig(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->data_dir, "/d");
  EXPECT_EQ(read->mount_point, "/m");
  { std::ofstream(path) << "data = /d\nbogus\n"; }
  read = ReadServeConfig(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message().rfind(path + ":2:", 0), 0u)
      << read.status().message();
  std::filesystem::remove_all(tmpl);
}

TEST(ConfigFileTest, Read_ShippedDefault_Parses) {
  auto read = ReadServeConfig(PAXOSFS_SOURCE_DIR "/packaging/main.conf");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->data_dir, "/var/lib/paxosfs/main");
  EXPECT_EQ(read->mount_point, "/srv/paxosfs");
  EXPECT_EQ(read->no_mount, std::nullopt);
  EXPECT_EQ(read->verbose, false);
}

TEST(ConfigFileTest, Merge_FileFillsWhatTheCommandLineLacks) {
  ServeConfig config;
  config.data_dir = "/d";
  config.mount_point = "/m";
  config.verbose = true;
  ServeFlags flags;
  MergeServeConfig(config, ServeFlagsGiven(), &flags);
  EXPECT_EQ(flags.data_dir, "/d");
  EXPECT_EQ(flags.mount_point, "/m");
  EXPECT_FALSE(flags.no_mount);
  EXPECT_TRUE(flags.verbose);
}

TEST(ConfigFileTest, Merge_CommandLineOverridesFile) {
  ServeConfig config;
  config.data_dir = "/d";
  config.mount_point = "/m";
  config.verbose = true;
  ServeFlags flags;
  flags.data_dir = "/cli-data";
  flags.verbose = false;
  ServeFlagsGiven given;
  given.data_dir = true;
  given.verbose = true;
  MergeServeConfig(config, given, &flags);
  EXPECT_EQ(flags.data_dir, "/cli-data");
  EXPECT_EQ(flags.mount_point, "/m");
  EXPECT_FALSE(flags.verbose);
}

TEST(ConfigFileTest, Merge_NoMountOnCommandLine_IgnoresFileMount) {
  ServeConfig config;
  config.mount_point = "/m";
  ServeFlags flags;
  flags.no_mount = true;
  ServeFlagsGiven given;
  given.no_mount = true;
  MergeServeConfig(config, given, &flags);
  EXPECT_TRUE(flags.mount_point.empty());
  EXPECT_TRUE(flags.no_mount);
}

TEST(ConfigFileTest, Merge_MountOnCommandLine_IgnoresFileNoMount) {
  ServeConfig config;
  config.no_mount = true;
  ServeFlags flags;
  flags.mount_point = "/cli-mount";
  ServeFlagsGiven given;
  given.mount_point = true;
  MergeServeConfig(config, given, &flags);
  EXPECT_EQ(flags.mount_point, "/cli-mount");
  EXPECT_FALSE(flags.no_mount);
}

TEST(ConfigFileTest, Parse_ReserveMib_ReadAndMerged) {
  auto parsed = ParseServeConfig("reserve-mib = 64\n", "f.conf");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->reserve_mib, 64u);
  ServeFlags flags;
  MergeServeConfig(*parsed, ServeFlagsGiven(), &flags);
  EXPECT_EQ(flags.reserve_mib, 64u);
  ServeFlagsGiven given;
  given.reserve_mib = true;
  flags.reserve_mib = 8;
  MergeServeConfig(*parsed, given, &flags);
  EXPECT_EQ(flags.reserve_mib, 8u);
}

TEST(ConfigFileTest, Parse_ReserveMibNotANumber_NamesLineAndFix) {
  auto parsed = ParseServeConfig("reserve-mib = 1G\n", "f.conf");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("f.conf:1:"), std::string::npos)
      << parsed.status().ToString();
  EXPECT_NE(parsed.status().message().find("reserve-mib"), std::string::npos)
      << parsed.status().ToString();
}

}  // namespace
}  // namespace paxosfs::cli
