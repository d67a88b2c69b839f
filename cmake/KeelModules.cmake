# keel_add_module(NAME SOURCES ... DEPS ... [PRIVATE_DEPS ...] [HEADERS dir ...] [INCLUDES dir ...]): one
# shared library per module. Undefined symbols are a link error (--no-undefined), so a module that uses
# another without depending on it fails to link.
#
# Private headers follow the same arrows, enforced by the compiler: a module does not see src/, only its own
# include root (Note [Private include roots]).
#   HEADERS   the module's private header folders, relative to src/ (default: the folder of its
#             CMakeLists.txt, e.g. `ops` or `backends/cpu`);
#   INCLUDES  header-only folders it may also use (e.g. `backends/elementwise`).
#
# Note [Private include roots]
# Private headers are included as "<module folder>/<header>" (`ops/dispatch.h`, `core/shape_util.h`). Each
# module gets build/private_include/<target>/, holding a symbolic link for its own header folders and those
# of every Keel module it depends on (DEPS, transitively), and nothing else. So `#include "training/x.h"`
# in ops fails to compile, rather than compiling and waiting for tools/check_includes to notice. Tests see
# all of src/: they check internals. Public headers (include/keel/) are one tree, for users; check_includes
# still checks which of them each module includes.
function(keel_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS;HEADERS;INCLUDES" ${ARGN})
  add_library(${name} SHARED ${ARG_SOURCES})
  add_library(Keel::${name} ALIAS ${name})
  if(NOT ARG_HEADERS)
    file(RELATIVE_PATH ARG_HEADERS ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  set(header_dirs ${ARG_HEADERS} ${ARG_INCLUDES})
  foreach(dep IN LISTS ARG_DEPS)
    if(TARGET ${dep})
      get_target_property(dep_dirs ${dep} KEEL_HEADER_DIRS)
      if(dep_dirs)
        list(APPEND header_dirs ${dep_dirs})
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES header_dirs)
  list(SORT header_dirs)
  set_target_properties(${name} PROPERTIES KEEL_HEADER_DIRS "${header_dirs}")
  keel_private_include_root(${name} "${header_dirs}" root)
  target_include_directories(${name}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${root})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  set_property(GLOBAL APPEND PROPERTY KEEL_MODULES ${name})
endfunction()

# Builds the include root of Note [Private include roots]: one link per folder, skipping folders that a
# linked parent already contains (backends/cpu holds backends/cpu/ref). Rebuilt at every configure, so a
# removed dependency takes its headers with it.
function(keel_private_include_root name header_dirs out_var)
  set(root ${PROJECT_BINARY_DIR}/private_include/${name})
  file(REMOVE_RECURSE ${root})
  file(MAKE_DIRECTORY ${root})
  set(linked)
  foreach(dir IN LISTS header_dirs)
    set(covered FALSE)
    foreach(parent IN LISTS linked)
      string(FIND "${dir}/" "${parent}/" at)
      if(at EQUAL 0)
        set(covered TRUE)
      endif()
    endforeach()
    if(NOT covered)
      if(NOT IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${dir})
        message(FATAL_ERROR "keel_add_module(${name}): no header folder src/${dir}")
      endif()
      get_filename_component(parent_dir ${root}/${dir} DIRECTORY)
      file(MAKE_DIRECTORY ${parent_dir})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${dir} ${root}/${dir} SYMBOLIC)
      list(APPEND linked ${dir})
    endif()
  endforeach()
  set(${out_var} ${root} PARENT_SCOPE)
endfunction()
