// kvd's admin API as a client: PUT /admin/faults with a JSON merge patch
// (null clears a field), authorised by the launch's bearer token.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace herd {

// Sends `patch` to http://<http_address>/admin/faults. False with *error
// (the status and kvd's answer, or the connection error) unless kvd
// answered 200.
bool PutAdminFaults(const std::string& http_address, const std::string& token,
                    const nlohmann::json& patch, std::string* error);

// The patch that clears every field `patch` sets.
nlohmann::json ClearingPatch(const nlohmann::json& patch);

}  // namespace herd
