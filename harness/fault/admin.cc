#include "fault/admin.h"

#include <curl/curl.h>

#include <fmt/format.h>

namespace herd {

namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

bool PutAdminFaults(const std::string& http_address, const std::string& token,
                    const nlohmann::json& patch, std::string* error) {
  CURL* e = curl_easy_init();
  if (!e) {
    *error = "cannot create a curl handle";
    return false;
  }
  const std::string url = "http://" + http_address + "/admin/faults";
  const std::string body = patch.dump();
  const std::string auth = "Authorization: Bearer " + token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  std::string answer;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
  const CURLcode rc = curl_easy_perform(e);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(e);
  if (rc != CURLE_OK) {
    *error = fmt::format("PUT {}: {}", url, curl_easy_strerror(rc));
    return false;
  }
  if (status != 200) {
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
    *error = fmt::format("PUT {}: {} {}", url, status, answer);
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
