#include "common/duration.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

using namespace std::chrono_literals;

Duration Parse(std::string_view text) {
  Duration d{};
  std::string error;
  EXPECT_TRUE(ParseDuration(text, &d, &error)) << text << ": " << error;
  return d;
}

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(Parse("150ms"), 150ms);
  EXPECT_EQ(Parse("2s"), 2s);
  EXPECT_EQ(Parse("1m"), 60s);
  EXPECT_EQ(Parse("1h"), 3600s);
  EXPECT_EQ(Parse("250us"), 250us);
  EXPECT_EQ(Parse("7ns"), 7ns);
  EXPECT_EQ(Parse("1.5s"), 1500ms);
  EXPECT_EQ(Parse("0"), 0s);
  EXPECT_EQ(Parse(" 10ms "), 10ms);
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "5", "-1s", "1 s", "ms", "1.2.3s", "10 parsecs", "1d", "nan s"}) {
    Duration d{};
    std::string error;
    EXPECT_FALSE(ParseDuration(bad, &d, &error)) << bad;
    EXPECT_NE(error.find("expected a duration"), std::string::npos) << error;
  }
}

TEST(Duration, Ranges) {
  Duration lo{}, hi{};
  std::string error;
  ASSERT_TRUE(ParseDurationRange("0ms-198ms", &lo, &hi, &error)) << error;
  EXPECT_EQ(lo, 0ms);
  EXPECT_EQ(hi, 198ms);
  ASSERT_TRUE(ParseDurationRange("2s", &lo, &hi, &error));
  EXPECT_EQ(lo, 2s);
  EXPECT_EQ(hi, 2s);
  EXPECT_FALSE(ParseDurationRange("3s-1s", &lo, &hi, &error));
  EXPECT_NE(error.find("minimum above its maximum"), std::string::npos);
  EXPECT_FALSE(ParseDurationRange("1s-", &lo, &hi, &error));
}

TEST(Duration, FormatsShortestExactSpelling) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(2s), "2s");
  EXPECT_EQ(FormatDuration(90s), "1.5m");
  EXPECT_EQ(FormatDuration(198ms), "198ms");
  EXPECT_EQ(FormatDuration(250us), "250us");
  EXPECT_EQ(FormatDuration(1234567ns), "1234.567us");  // exact beats short
  for (Duration d : {Duration(1ms), Duration(1500ms), Duration(61s), Duration(3h), Duration(7ns)}) {
    EXPECT_EQ(Parse(FormatDuration(d)), d) << FormatDuration(d);
  }
}

}  // namespace
}  // namespace herd
