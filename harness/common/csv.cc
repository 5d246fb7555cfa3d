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

bool ParseCsv(const std::string& text, CsvTable* table, std::string* error) {
  *table = CsvTable{};
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    // A blank line (one empty field) is skipped.
    if (!(record.size() == 1 && record[0].empty())) records.push_back(std::move(record));
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // the '\n' ends the record
    } else if (c == '\n') {
      end_record();
      ++line;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    if (error) *error = "unclosed quote at the end of the text (opened by line " + std::to_string(line) + ")";
    return false;
  }
  if (field_started || !record.empty()) end_record();
  if (records.empty()) {
    if (error) *error = "no header line";
    return false;
  }
  table->header = std::move(records[0]);
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table->header.size()) {
      if (error) {
        *error = "record " + std::to_string(r + 1) + " has " + std::to_string(records[r].size()) +
                 " fields, the header " + std::to_string(table->header.size());
      }
      return false;
    }
    table->rows.push_back(std::move(records[r]));
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
