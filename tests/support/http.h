// Test support: a tiny HTTP client on libcurl's easy interface, raw TCP
// exchanges for malformed input, and a Prometheus text-format reader.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace herd::test {

using Millis = std::chrono::milliseconds;

struct HttpResult {
  long status = 0;  // 0: no HTTP response (see error)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response
  int curl_code = 0;                                          // CURLcode, 0 = OK
  std::string error;                                          // curl's message when curl_code != 0
  double seconds = 0;                                         // total time of the exchange

  // Case-insensitive; "" when absent.
  std::string Header(const std::string& name) const;
  bool HasHeader(const std::string& name) const;
  bool timed_out() const;        // CURLE_OPERATION_TIMEDOUT
  bool connect_failed() const;   // CURLE_COULDNT_CONNECT
  // "status 200" or the curl error, for messages.
  std::string Describe() const;
};

struct HttpOptions {
  HttpOptions() = default;
  HttpOptions(Millis t) : timeout(t) {}  // NOLINT: a timeout alone is the common case

  Millis timeout{10000};
  Millis connect_timeout{5000};
  // Let curl send "Expect: 100-continue" for large bodies (off by default:
  // it adds a round trip and a 1 s wait if the server ignores it).
  bool expect_continue = false;
  bool http10 = false;
};

using Headers = std::vector<std::string>;  // "Name: value"

// A client holding one curl easy handle, so consecutive requests reuse the
// connection (keep-alive). Not thread-safe: one per thread.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Request(const std::string& method, const std::string& url,
                     const std::string& body = "", const Headers& headers = {},
                     const HttpOptions& options = {});
  HttpResult Get(const std::string& url, const Headers& headers = {}, const HttpOptions& o = {}) {
    return Request("GET", url, "", headers, o);
  }
  HttpResult Put(const std::string& url, const std::string& body, const Headers& headers = {},
                 const HttpOptions& o = {}) {
    return Request("PUT", url, body, headers, o);
  }
  HttpResult Delete(const std::string& url, const Headers& headers = {}, const HttpOptions& o = {}) {
    return Request("DELETE", url, "", headers, o);
  }

 private:
  void* curl_;  // CURL*
};

// One request on a fresh connection.
HttpResult Http(const std::string& method, const std::string& url, const std::string& body = "",
                const Headers& headers = {}, Millis timeout = Millis(10000));
inline HttpResult HttpGet(const std::string& url, const Headers& headers = {},
                          Millis timeout = Millis(10000)) {
  return Http("GET", url, "", headers, timeout);
}
HttpResult HttpWith(const std::string& method, const std::string& url, const std::string& body,
                    const Headers& headers, const HttpOptions& options);

// Percent-encodes every byte but unreserved ones (A-Z a-z 0-9 - . _ ~).
std::string UrlEncode(const std::string& text);

// ---- raw TCP -------------------------------------------------------------

struct RawResult {
  bool connected = false;
  std::string received;     // everything read
  bool peer_closed = false; // EOF or reset seen (else: timed out with the connection open)
  bool reset = false;       // ECONNRESET seen
  std::string error;
  double seconds = 0;
};

// Connects to host:port, sends `bytes` (as far as the peer lets it), then
// reads until the peer closes or `timeout` passes since the connect.
RawResult RawExchange(const std::string& host, int port, const std::string& bytes, Millis timeout);

// A raw TCP connection, for tests that need to hold one half-way.
class TcpConnection {
 public:
  TcpConnection() = default;
  ~TcpConnection();
  TcpConnection(TcpConnection&& other) noexcept;
  TcpConnection& operator=(TcpConnection&& other) noexcept;
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  bool Connect(const std::string& host, int port, Millis timeout, std::string* error = nullptr);
  bool Send(const std::string& bytes, std::string* error = nullptr);
  // Reads whatever arrives until the peer closes or `timeout` passes; sets
  // *closed when it saw EOF or a reset.
  std::string ReadUntilClosed(Millis timeout, bool* closed);
  // Reads until `want` bytes have arrived in total, the peer closes, or timeout.
  std::string ReadAtLeast(size_t want, Millis timeout, bool* closed);
  void Close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Splits "host:port".
bool SplitHostPort(const std::string& address, std::string* host, int* port);

// ---- Prometheus text format ----------------------------------------------

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample in an exposition (comments skipped).
std::vector<MetricSample> ParseMetrics(const std::string& text);

// The value of the one series `name` whose label set is exactly `labels`;
// nullopt if there is none.
std::optional<double> MetricValue(const std::string& text, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

// The sum over every series of `name` whose labels include `labels`
// (0 when none matches).
double MetricSum(const std::string& text, const std::string& name,
                 const std::map<std::string, std::string>& labels = {});

}  // namespace herd::test
