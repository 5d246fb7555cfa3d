#include "faults.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kvd {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(Faults, PatchSetsAndMergesFields) {
  FaultSet f;
  std::string error;
  ASSERT_TRUE(ApplyFaultPatch(json::parse(R"({"latency":"0ms-198ms","error_rate":1,"error_status":503})"),
                              &f, &error)) << error;
  EXPECT_EQ(f.latency_min, milliseconds(0));
  EXPECT_EQ(f.latency_max, milliseconds(198));
  EXPECT_EQ(f.error_rate, 1.0);
  EXPECT_EQ(f.error_status, 503);
  EXPECT_TRUE(f.AffectsRequests());

  ASSERT_TRUE(ApplyFaultPatch(json::parse(R"({"stall":true,"leak":"timer"})"), &f, &error));
  EXPECT_TRUE(f.stall);
  EXPECT_EQ(f.leak, LeakMode::kTimer);
  EXPECT_EQ(f.error_rate, 1.0);  // untouched by the second patch
}

TEST(Faults, NullTurnsAFaultOff) {
  FaultSet f;
  std::string error;
  ASSERT_TRUE(ApplyFaultPatch(json::parse(R"({"latency":"10ms","service_time":"5ms"})"), &f, &error));
  EXPECT_EQ(f.latency_min, milliseconds(10));
  EXPECT_EQ(f.latency_max, milliseconds(10));
  ASSERT_TRUE(ApplyFaultPatch(json::parse(R"({"latency":null,"service_time":null})"), &f, &error));
  EXPECT_EQ(f.latency_max.count(), 0);
  EXPECT_EQ(f.service_time.count(), 0);
  EXPECT_FALSE(f.AffectsRequests());
}

TEST(Faults, DeepDependencyDownDoesNotTouchRequests) {
  FaultSet f;
  std::string error;
  ASSERT_TRUE(ApplyFaultPatch(json::parse(R"({"deep_dependency_down":true})"), &f, &error));
  EXPECT_TRUE(f.deep_dependency_down);
  EXPECT_FALSE(f.AffectsRequests());
}

struct BadPatch {
  const char* patch;
  const char* names;  // the message must name this field
};

class FaultsBadInput : public ::testing::TestWithParam<BadPatch> {};

TEST_P(FaultsBadInput, IsRejectedNamingTheFieldAndLeavesTheSetAlone) {
  FaultSet f;
  f.error_rate = 0.25;
  std::string error;
  EXPECT_FALSE(ApplyFaultPatch(json::parse(GetParam().patch), &f, &error));
  EXPECT_NE(error.find(GetParam().names), std::string::npos) << error;
  EXPECT_EQ(f.error_rate, 0.25);
}

INSTANTIATE_TEST_SUITE_P(
    All, FaultsBadInput,
    ::testing::Values(BadPatch{R"({"latency":5})", "latency"},
                      BadPatch{R"({"latency":"fast"})", "latency"},
                      BadPatch{R"({"latency":"200ms-100ms"})", "latency"},
                      BadPatch{R"({"service_time":"-1s"})", "service_time"},
                      BadPatch{R"({"error_rate":1.5,"latency":"1ms"})", "error_rate"},
                      BadPatch{R"({"error_status":200})", "error_status"},
                      BadPatch{R"({"stall":"yes"})", "stall"},
                      BadPatch{R"({"leak":"memory"})", "leak"},
                      BadPatch{R"({"latnecy":"1ms"})", "latnecy"},
                      BadPatch{R"([1,2])", "object"}));

TEST(Faults, HolderReportsNothingWhenNoRequestFaultIsOn) {
  Faults faults;
  EXPECT_EQ(faults.ForRequest(), nullptr);
  std::string error;
  ASSERT_TRUE(faults.Patch(json::parse(R"({"error_rate":0.5})"), &error));
  auto f = faults.ForRequest();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->error_rate, 0.5);
  faults.Clear();
  EXPECT_EQ(faults.ForRequest(), nullptr);
  EXPECT_EQ(f->error_rate, 0.5);  // a request keeps the set it was admitted with
}

TEST(Faults, JsonRoundTrip) {
  FaultSet f;
  std::string error;
  json in = json::parse(R"({"latency":"5ms-1.5s","service_time":"20ms","error_rate":0.1,
                            "error_status":429,"stall":true,"deep_dependency_down":true,"leak":"task"})");
  ASSERT_TRUE(ApplyFaultPatch(in, &f, &error)) << error;
  EXPECT_EQ(f.ToJson(), in);
  EXPECT_EQ(FaultSet{}.ToJson(), json::object());
}

}  // namespace
}  // namespace kvd
