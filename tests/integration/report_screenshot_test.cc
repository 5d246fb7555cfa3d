// report.html in a real browser: headless Chromium (Debian's chromium
// package) screenshots the report of a real run, and the PNG is checked
// not to be blank: a page that failed to render, or charts that drew
// nothing, would be one or two colours. The PNG is kept in
// <build>/tests/output/ for a person to look at (and CI to keep).
//
// Skipped, saying why, when Chromium is not installed.
#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/herd_run.h"
#include "support/process.h"

namespace herd::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string FindChromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;  // width * height * 4
};

bool ReadPng(const fs::path& path, Image* image, std::string* error) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str())) {
    *error = png.message;
    return false;
  }
  png.format = PNG_FORMAT_RGBA;
  image->width = static_cast<int>(png.width);
  image->height = static_cast<int>(png.height);
  image->rgba.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image->rgba.data(), 0, nullptr)) {
    *error = png.message;
    return false;
  }
  return true;
}

class ReportScreenshot : public HerdFixture {
 protected:
  ReportScreenshot() : HerdFixture("herd-screenshot") {}
};

TEST_F(ReportScreenshot, ChromiumRendersARealReport) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "Chromium is not installed (apt-get install chromium, or scripts/setup.sh): "
                    "the report's screenshot is not checked";
  }
  // A real run: a fleet against kvd, a latency window and a kill, a probe.
  const json scenario = {
      {"name", "screenshot"},
      {"duration", "4s"},
      {"bucket", "250ms"},
      {"seed", 1},
      {"target", LaunchKvd()},
      {"fleets",
       {{{"name", "clients"},
         {"instances", 10},
         {"arrival", {{"model", "open"}, {"rate", 200}}},
         {"workload", {{"mix", {{"get", 0.8}, {"put", 0.2}}}, {"keys", {{"count", 50}}}}},
         {"timeout", "500ms"},
         {"retry", {{"strategy", "exponential"}, {"base", "50ms"}, {"max_attempts", 3}}}}}},
      {"faults",
       {{{"kind", "latency"}, {"at", "1s"}, {"for", "1s"}, {"latency", "20ms"}},
        {{"kind", "kill"}, {"at", "2.5s"}, {"restart_after", "500ms"}}}},
      {"probes", {{{"name", "ready"}, {"path", "/readyz"}, {"period", "250ms"}, {"timeout", "200ms"}}}}};
  RunHerdOptions o;
  o.scenario_file = dir_.path() / "screenshot.json";
  o.out = dir_.path() / "run";
  o.stderr_path = dir_.path() / "run.stderr";
  const HerdRun run = RunHerd(scenario, o);
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;

  const fs::path output = fs::path(HERD_TEST_BINARY_DIR) / "output";
  fs::create_directories(output);
  const fs::path png = output / "report-screenshot.png";
  fs::remove(png);
  ProcessOptions p;
  // --no-sandbox: CI runs tests as root, where Chromium's sandbox refuses to
  // start. The page is herd's own, from a local file, with no scripts.
  p.argv = {chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--user-data-dir=" + (dir_.path() / "chromium-profile").string(),
            "--window-size=1280,2400",
            "--screenshot=" + png.string(),
            "file://" + (run.out / "report.html").string()};
  p.stderr_path = dir_.path() / "chromium.stderr";
  Process browser;
  std::string error;
  ASSERT_TRUE(browser.Start(p, &error)) << error;
  auto code = browser.WaitExit(Millis(90000));
  if (!code) code = browser.Kill();
  ASSERT_TRUE(fs::exists(png)) << "Chromium exited " << code.value_or(-1) << " without a screenshot:\n"
                               << browser.StderrTail();
  std::printf("screenshot: %s\n", png.c_str());

  Image image;
  ASSERT_TRUE(ReadPng(png, &image, &error)) << error;
  EXPECT_EQ(image.width, 1280);
  EXPECT_EQ(image.height, 2400);
  // Not blank: plenty of non-white pixels, and the palette's colours (the
  // charts' lines and the verdict badge), not just text greys.
  size_t ink = 0;
  std::set<uint32_t> colours;
  for (size_t i = 0; i + 3 < image.rgba.size(); i += 4) {
    const uint8_t r = image.rgba[i], g = image.rgba[i + 1], b = image.rgba[i + 2];
    if (r < 240 || g < 240 || b < 240) ++ink;
    colours.insert((uint32_t{r} << 16) | (uint32_t{g} << 8) | b);
  }
  const double share = static_cast<double>(ink) / (static_cast<double>(image.rgba.size()) / 4);
  std::printf("non-white pixels: %.1f%%, distinct colours: %zu\n", share * 100, colours.size());
  EXPECT_GT(share, 0.02);
  EXPECT_GT(colours.size(), 50u);
  // Okabe-Ito's blue (goodput, p50) is drawn somewhere, anti-aliasing aside.
  EXPECT_TRUE(colours.count(0x0072B2)) << "no line in the palette's blue";
}

}  // namespace
}  // namespace herd::test
