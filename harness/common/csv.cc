#include "common/csv.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace herd {

int CsvTable::Column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const std::string& CsvTable::Cell(size_t row, const std::string& name) const {
  static const std::string kEmpty;
  const int c = Column(name);
  if (c < 0 || row >= rows.size() || static_cast<size_t>(c) >= rows[row].size()) return kEmpty;
  return rows[row][static_cast<size_t>(c)];
}

double CsvTable::Number(size_t row, const std::string& name) const {
  const std::string& cell = Cell(row, name);
  if (cell.empty()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  if (end == cell.c_str() || *end != '\0') return std::nan("");
  return v;
}

bool CsvReader::Next(std::vector<std::string>* fields) {
  while (pos_ < text_.size()) {
    line_ = next_line_;
    complete_ = false;
    size_t used = 0;
    // The next field: an existing string cleared (its capacity kept), or a new one.
    auto start_field = [&]() -> std::string* {
      if (used == fields->size()) fields->emplace_back();
      std::string* f = &(*fields)[used++];
      f->clear();
      return f;
    };
    std::string* field = start_field();
    bool quoted = false, field_started = false;
    for (; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (quoted) {
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            *field += '"';
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++next_line_;
          *field += c;
        }
        continue;
      }
      if (c == '"' && !field_started) {
        quoted = true;
        field_started = true;
      } else if (c == ',') {
        field = start_field();
        field_started = false;
      } else if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        // the '\n' ends the record
      } else if (c == '\n') {
        ++pos_;
        ++next_line_;
        complete_ = true;
        break;
      } else {
        *field += c;
        field_started = true;
      }
    }
    unclosed_quote_ = quoted;
    fields->resize(used);
    // A blank line (one empty field) is skipped.
    if (used == 1 && (*fields)[0].empty() && !quoted) continue;
    return true;
  }
  return false;
}

bool ParseCsv(const std::string& text, CsvTable* table, std::string* error) {
  *table = CsvTable{};
  CsvReader reader(text);
  std::vector<std::string> record;
  size_t records = 0;
  while (reader.Next(&record)) {
    ++records;
    if (reader.unclosed_quote()) {
      if (error) {
        *error = "unclosed quote at the end of the text (in the record of line " + std::to_string(reader.line()) + ")";
      }
      return false;
    }
    if (records == 1) {
      table->header = record;
    } else if (record.size() != table->header.size()) {
      if (error) {
        *error = "record " + std::to_string(records) + " has " + std::to_string(record.size()) +
                 " fields, the header " + std::to_string(table->header.size());
      }
      return false;
    } else {
      table->rows.push_back(record);
    }
  }
  if (records == 0) {
    if (error) *error = "no header line";
    return false;
  }
  return true;
}

bool ReadCsvFile(const std::filesystem::path& path, CsvTable* table, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error) *error = "cannot read " + path.string();
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string why;
  if (!ParseCsv(ss.str(), table, &why)) {
    if (error) *error = path.string() + ": " + why;
    return false;
  }
  return true;
}

}  // namespace herd
