# Helpers shared by every folder's CMakeLists.txt.

# sdm_add_library(<name> DEPS <targets...> [PRIVATE_DEPS ...] [EXCLUDE <regex>...])
# One library per folder: every .cpp under the folder (recursively) is a source,
# the target is exported as sdm::<name> and the repository root is the include root,
# so `#include "engine/gp/gp.hpp"` mirrors `sdm::engine::gp`.
function(sdm_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;EXCLUDE" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER sources EXCLUDE REGEX "/micro/")
  foreach(pattern IN LISTS ARG_EXCLUDE)
    list(FILTER sources EXCLUDE REGEX "${pattern}")
  endforeach()
  add_library(sdm_${name} STATIC ${sources})
  add_library(sdm::${name} ALIAS sdm_${name})
  target_include_directories(sdm_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(sdm_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_compile_options(sdm_${name} PRIVATE ${SDM_WARNINGS})
endfunction()

# sdm_add_test(<source.cpp> DEPS <targets...> [LABELS ...] [TIMEOUT s])
# Registers one GoogleTest executable per test_<component>.cpp.
function(sdm_add_test source)
  cmake_parse_arguments(ARG "" "TIMEOUT" "DEPS;LABELS" ${ARGN})
  get_filename_component(stem ${source} NAME_WE)
  get_filename_component(folder ${source} DIRECTORY)
  string(REPLACE "/" "_" prefix "${folder}")
  set(target ${prefix}_${stem})
  add_executable(${target} ${source})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  add_dependencies(${target} sdm)
  target_compile_options(${target} PRIVATE ${SDM_WARNINGS})
  target_compile_definitions(${target} PRIVATE
    SDM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SDM_SHARED_DATA_DIR="${SDM_SHARED_DATA_DIR}"
    SDM_BINARY="$<TARGET_FILE:sdm>")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_test(NAME ${target} COMMAND ${target} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${target} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}"
    ENVIRONMENT "OMP_NUM_THREADS=1")
endfunction()
