#include "support/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace herd::test {

using Clock = std::chrono::steady_clock;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after 100 Continue, say)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    headers->emplace_back(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  return size * n;
}

HttpResult Perform(CURL* curl, const std::string& method, const std::string& url,
                   const std::string& body, const Headers& headers, const HttpOptions& options) {
  HttpResult result;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // loopback only, whatever the environment says
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  if (options.http10) curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
  else curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);

  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const bool has_body = !body.empty() || method == "PUT" || method == "POST" || method == "PATCH";
  if (has_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  }

  curl_slist* list = nullptr;
  bool has_content_type = false;
  for (const auto& h : headers) {
    list = curl_slist_append(list, h.c_str());
    if (Lower(h).rfind("content-type:", 0) == 0) has_content_type = true;
  }
  if (has_body && !has_content_type) list = curl_slist_append(list, "Content-Type:");  // none
  if (!options.expect_continue) list = curl_slist_append(list, "Expect:");
  if (list) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

  auto start = Clock::now();
  CURLcode rc = curl_easy_perform(curl);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.curl_code = static_cast<int>(rc);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    result.status = status;
  } else {
    result.error = curl_easy_strerror(rc);
    result.status = 0;
  }
  if (list) curl_slist_free_all(list);
  return result;
}

}  // namespace

std::string HttpResult::Header(const std::string& name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return v;
  }
  return {};
}

bool HttpResult::HasHeader(const std::string& name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return true;
  }
  return false;
}

bool HttpResult::timed_out() const { return curl_code == CURLE_OPERATION_TIMEDOUT; }
bool HttpResult::connect_failed() const { return curl_code == CURLE_COULDNT_CONNECT; }

std::string HttpResult::Describe() const {
  if (curl_code != 0) return fmt::format("curl error {} ({})", curl_code, error);
  std::string b = body.size() > 200 ? body.substr(0, 200) + "..." : body;
  return fmt::format("status {} body \"{}\"", status, b);
}

HttpClient::HttpClient() {
  GlobalInit();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpResult HttpClient::Request(const std::string& method, const std::string& url,
                               const std::string& body, const Headers& headers,
                               const HttpOptions& options) {
  return Perform(static_cast<CURL*>(curl_), method, url, body, headers, options);
}

HttpResult HttpWith(const std::string& method, const std::string& url, const std::string& body,
                    const Headers& headers, const HttpOptions& options) {
  GlobalInit();
  CURL* curl = curl_easy_init();
  HttpResult r = Perform(curl, method, url, body, headers, options);
  curl_easy_cleanup(curl);
  return r;
}

HttpResult Http(const std::string& method, const std::string& url, const std::string& body,
                const Headers& headers, Millis timeout) {
  HttpOptions o;
  o.timeout = timeout;
  return HttpWith(method, url, body, headers, o);
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// ---- raw TCP ------------------------------------------------------------------

bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = std::atoi(address.c_str() + colon + 1);
  return *port > 0;
}

TcpConnection::~TcpConnection() { Close(); }

TcpConnection::TcpConnection(TcpConnection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

TcpConnection& TcpConnection::operator=(TcpConnection&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void TcpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TcpConnection::Connect(const std::string& host, int port, Millis timeout, std::string* error) {
  Close();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    if (error) *error = "bad IPv4 address " + host;
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (error) *error = fmt::format("socket: {}", std::strerror(errno));
    return false;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (r != 0 && errno != EINPROGRESS) {
    if (error) *error = fmt::format("connect: {}", std::strerror(errno));
    ::close(fd);
    return false;
  }
  if (r != 0) {
    pollfd p{fd, POLLOUT, 0};
    int pr = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (pr <= 0 || soerr != 0) {
      if (error) *error = pr <= 0 ? "connect timed out" : fmt::format("connect: {}", std::strerror(soerr));
      ::close(fd);
      return false;
    }
  }
  fd_ = fd;
  return true;
}

bool TcpConnection::Send(const std::string& bytes, std::string* error) {
  size_t off = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Clock::now() > deadline) {
        if (error) *error = "send timed out";
        return false;
      }
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    if (error) *error = fmt::format("send: {}", std::strerror(errno));
    return false;
  }
  return true;
}

std::string TcpConnection::ReadAtLeast(size_t want, Millis timeout, bool* closed) {
  std::string out;
  *closed = false;
  const auto deadline = Clock::now() + timeout;
  while (out.size() < want) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    *closed = true;  // EOF or an error such as ECONNRESET
    break;
  }
  return out;
}

std::string TcpConnection::ReadUntilClosed(Millis timeout, bool* closed) {
  return ReadAtLeast(static_cast<size_t>(-1), timeout, closed);
}

RawResult RawExchange(const std::string& host, int port, const std::string& bytes, Millis timeout) {
  RawResult result;
  const auto start = Clock::now();
  TcpConnection c;
  if (!c.Connect(host, port, timeout, &result.error)) return result;
  result.connected = true;
  std::string send_error;
  // A server may answer and close before it has read everything (a 431
  // say): a failed send is not the end, the answer may still be there.
  if (!c.Send(bytes, &send_error)) result.error = send_error;
  auto left = timeout - std::chrono::duration_cast<Millis>(Clock::now() - start);
  if (left < Millis(1)) left = Millis(1);
  std::string out;
  const auto deadline = Clock::now() + left;
  while (true) {
    auto ms = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (ms <= 0) break;
    pollfd p{c.fd(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(ms));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[16384];
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    result.peer_closed = true;
    if (n < 0 && errno == ECONNRESET) result.reset = true;
    break;
  }
  result.received = std::move(out);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

// ---- Prometheus ---------------------------------------------------------------

std::vector<MetricSample> ParseMetrics(const std::string& text) {
  std::vector<MetricSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) break;
        std::string key = Trim(line.substr(i, eq - i));
        if (!key.empty() && key[0] == ',') key = Trim(key.substr(1));
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') break;
        ++i;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
          ++i;
        }
        ++i;  // closing quote
        s.labels[key] = value;
        while (i < line.size() && (line[i] == ',' || line[i] == ' ')) ++i;
      }
      if (i < line.size()) ++i;  // '}'
    }
    std::string rest = Trim(line.substr(std::min(i, line.size())));
    // value [timestamp]
    std::string value = rest.substr(0, rest.find(' '));
    if (value == "+Inf") s.value = HUGE_VAL;
    else if (value == "-Inf") s.value = -HUGE_VAL;
    else s.value = std::strtod(value.c_str(), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> MetricValue(const std::string& text, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  for (const auto& s : ParseMetrics(text)) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

double MetricSum(const std::string& text, const std::string& name,
                 const std::map<std::string, std::string>& labels) {
  double sum = 0;
  for (const auto& s : ParseMetrics(text)) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (match) sum += s.value;
  }
  return sum;
}

}  // namespace herd::test
