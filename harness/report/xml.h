// Text for XML: junit.xml, the SVG charts and the XHTML report all escape
// through this one function.
#pragma once

#include <string>
#include <string_view>

namespace herd {

// Text for XML attribute values (and content): & < > " ' escaped; in
// attributes tabs and line breaks as character references (content keeps
// them); other control characters (not allowed in XML 1.0) as U+FFFD.
std::string XmlEscape(std::string_view text, bool attribute = true);

}  // namespace herd
