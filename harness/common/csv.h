// Reading CSV files with a header line, as herd writes them (timeseries.csv,
// faults.csv, probes.csv, monitors.csv): by column name rather than position.
// The report reads run directories with it, and the tests assert with it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace herd {

// A CSV file with a header line. Fields may be quoted ("a, b" and "" for a
// quote inside), as herd writes faults.csv's detail.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // The index of a column, or -1.
  int Column(const std::string& name) const;
  bool HasColumn(const std::string& name) const { return Column(name) >= 0; }
  // A cell of row `row` by column name; "" when the column (or cell) is absent.
  const std::string& Cell(size_t row, const std::string& name) const;
  // The cell as a number; NaN when it is empty or not a number.
  double Number(size_t row, const std::string& name) const;
  size_t size() const { return rows.size(); }
};

// Reads CSV text one record at a time (same rules as ParseCsv), for readers
// that keep going past a bad row and must say on which line it is (a run
// directory read back by the report).
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}

  // The next record into *fields, reusing its strings so that a file of
  // short fields is read without allocating; blank lines are skipped. False
  // at the end of the text.
  bool Next(std::vector<std::string>* fields);

  // About the record Next last returned: the line it starts on (1-based),
  // and whether it ended with a line end. An incomplete record ran into the
  // end of the text: the file was cut short, or its writer left out the last
  // line end. unclosed_quote() says it ended inside a quoted field.
  size_t line() const { return line_; }
  bool complete() const { return complete_; }
  bool unclosed_quote() const { return unclosed_quote_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t next_line_ = 1;
  size_t line_ = 0;
  bool complete_ = true;
  bool unclosed_quote_ = false;
};

// Parses CSV text (RFC 4180: quoted fields, "" escapes, CRLF or LF line
// ends). The first record is the header. False with *error on an unclosed
// quote or a row whose field count differs from the header's.
bool ParseCsv(const std::string& text, CsvTable* table, std::string* error);

// Reads and parses a file; false with *error when it cannot be read or parsed.
bool ReadCsvFile(const std::filesystem::path& path, CsvTable* table, std::string* error);

}  // namespace herd
