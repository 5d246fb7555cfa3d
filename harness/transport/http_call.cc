#include "transport/http_call.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

namespace herd {

namespace {

struct Sink {
  std::string* body;
  size_t max;
  bool too_big = false;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  Sink* sink = static_cast<Sink*>(out);
  if (sink->body->size() + size * n > sink->max) {
    sink->too_big = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->body->append(data, size * n);
  return size * n;
}

}  // namespace

void EnsureCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpCallResult HttpCall(std::string_view method, const std::string& url, const std::vector<std::string>& headers,
                        std::string_view body, Duration timeout, size_t max_body) {
  EnsureCurl();
  HttpCallResult r;
  CURL* e = curl_easy_init();
  if (!e) {
    r.error = "cannot create a curl handle";
    return r;
  }
  const std::string verb(method);
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  const long ms = std::max<long>(1, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  Sink sink{&r.body, max_body};
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  if (verb == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, verb.c_str());
  }
  if (!body.empty() || verb == "PUT" || verb == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(e);
  r.curl_code = rc;
  if (rc == CURLE_OK) {
    r.done = true;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
  } else if (sink.too_big) {
    r.error = fmt::format("{} {}: body larger than {} MiB", verb, url, max_body >> 20);
  } else {
    r.error = fmt::format("{} {}: {}", verb, url, curl_easy_strerror(rc));
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(e);
  return r;
}

}  // namespace herd
