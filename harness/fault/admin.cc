#include "fault/admin.h"

#include <fmt/format.h>

#include "transport/http_call.h"

namespace herd {

bool PutAdminFaults(const std::string& http_address, const std::string& token,
                    const nlohmann::json& patch, std::string* error) {
  const std::string url = "http://" + http_address + "/admin/faults";
  HttpCallResult r = HttpCall("PUT", url, {"Authorization: Bearer " + token, "Content-Type: application/json"},
                              patch.dump(), std::chrono::seconds(2));
  if (!r.done) {
    *error = r.error;
    return false;
  }
  if (r.status != 200) {
    while (!r.body.empty() && (r.body.back() == '\n' || r.body.back() == '\r')) r.body.pop_back();
    *error = fmt::format("PUT {}: {} {}", url, r.status, r.body);
    return false;
  }
  return true;
}

nlohmann::json ClearingPatch(const nlohmann::json& patch) {
  nlohmann::json clear = nlohmann::json::object();
  for (const auto& [key, value] : patch.items()) clear[key] = nullptr;
  return clear;
}

}  // namespace herd
