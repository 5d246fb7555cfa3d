# Stamps every binary with herd's version, the git revision and the build date,
# so a report or a kvd /info answer says exactly what produced it.
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE HERD_GIT_REVISION
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT HERD_GIT_REVISION)
  set(HERD_GIT_REVISION "unknown")
endif()
execute_process(
  COMMAND git status --porcelain --untracked-files=no
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE _herd_dirty ERROR_QUIET)
if(_herd_dirty)
  string(APPEND HERD_GIT_REVISION "-dirty")
endif()
# The day only: a timestamp would change at every configure and rebuild
# everything that includes version.h.
string(TIMESTAMP HERD_BUILD_DATE "%Y-%m-%d" UTC)
configure_file(${CMAKE_SOURCE_DIR}/cmake/version.h.in
               ${CMAKE_BINARY_DIR}/generated/herd/version.h @ONLY)
add_library(herd_version INTERFACE)
target_include_directories(herd_version INTERFACE ${CMAKE_BINARY_DIR}/generated)
