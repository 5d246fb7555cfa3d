// One blocking HTTP request, for herd's side channels: kvd's admin API,
// Prometheus scrapes, readiness polls. Not for the fleets (transport/http.h
// is). Also the one place that initialises libcurl, which wants
// curl_global_init once per process before any thread uses it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"

namespace herd {

// curl_global_init, once, thread-safely. Call before any other libcurl use.
void EnsureCurl();

struct HttpCallResult {
  bool done = false;    // a response came (whatever its status)
  long status = 0;
  std::string body;
  std::string error;    // when !done: "GET http://...: Couldn't connect to server"
  int curl_code = 0;    // CURLcode
};

// method "GET", "PUT", ...; headers "Name: value". Never through a proxy
// from the environment. A body larger than max_body ends the transfer with
// an error.
HttpCallResult HttpCall(std::string_view method, const std::string& url, const std::vector<std::string>& headers,
                        std::string_view body, Duration timeout, size_t max_body = 64u << 20);

}  // namespace herd
