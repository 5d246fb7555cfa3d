#include "fault/control.h"

#include <charconv>

#include "scenario/parse.h"

namespace herd {

using nlohmann::json;

namespace {

ProxyControl::Response Json(int status, const json& body) { return {status, body.dump() + "\n"}; }
ProxyControl::Response Error(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}

}  // namespace

uint64_t ProxyControl::Add(const FaultSpec& fault) {
  std::lock_guard lock(mu_);
  Entry entry{fault, 0};
  if (fault.kind == FaultSpec::Kind::kDown) {
    proxy_.SetDown(true);
  } else {
    entry.proxy_id = proxy_.Add(fault.proxy);
  }
  const uint64_t id = next_id_++;
  entries_.emplace(id, std::move(entry));
  return id;
}

bool ProxyControl::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  if (it->second.proxy_id == 0) {
    proxy_.SetDown(false);
  } else {
    proxy_.Remove(it->second.proxy_id);
  }
  entries_.erase(it);
  return true;
}

void ProxyControl::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  proxy_.Clear();
}

ProxyControl::Response ProxyControl::Handle(std::string_view method, std::string_view target,
                                            std::string_view body) {
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target == "/stats") {
    if (method != "GET") return Error(405, "use GET /stats");
    const ProxyStats s = proxy_.stats();
    return Json(200, {{"address", proxy_.address()},
                      {"accepted", s.accepted},
                      {"refused_upstream", s.refused_upstream},
                      {"open", s.open},
                      {"bytes_up", s.bytes_up},
                      {"bytes_down", s.bytes_down},
                      {"http_requests", s.http_requests},
                      {"http_errors", s.http_errors},
                      {"http_delayed", s.http_delayed}});
  }
  if (target == "/faults") {
    if (method == "GET") {
      json list = json::array();
      std::lock_guard lock(mu_);
      for (const auto& [id, entry] : entries_) {
        json j = FaultParameters(entry.fault);
        j["id"] = id;
        j["kind"] = FaultKindName(entry.fault.kind);
        list.push_back(std::move(j));
      }
      return Json(200, {{"faults", list}});
    }
    if (method == "POST") {
      json doc = json::parse(body, nullptr, false);
      if (doc.is_discarded()) return Error(400, "the body is not JSON");
      FaultSpec fault;
      std::vector<ParseError> errors;
      if (!ParseFault(doc, &fault, &errors)) {
        std::string all;
        for (const ParseError& e : errors) all += (all.empty() ? "" : "; ") + e.ToString();
        return Error(400, all);
      }
      const uint64_t id = Add(fault);
      Response r = Json(201, {{"id", id}});
      r.id = id;
      if (fault.end != Duration::max()) r.remove_after = fault.end - fault.at;
      return r;
    }
    if (method == "DELETE") {
      Clear();
      return {204, ""};
    }
    return Error(405, "use GET, POST or DELETE on /faults");
  }
  if (target.starts_with("/faults/")) {
    if (method != "DELETE") return Error(405, "use DELETE /faults/ID");
    std::string_view digits = target.substr(8);
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || end != digits.data() + digits.size()) return Error(400, "expected /faults/<id>");
    return Remove(id) ? Response{204, ""} : Error(404, "no fault with id " + std::string(digits));
  }
  return Error(404, "unknown path; try GET /faults, POST /faults, DELETE /faults/ID, GET /stats");
}

}  // namespace herd
