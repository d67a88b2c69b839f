# Installs the libraries, public headers and a CMake package: find_package(Keel) gives Keel::keel.
include(CMakePackageConfigHelpers)
get_property(keel_modules GLOBAL PROPERTY KEEL_MODULES)
install(TARGETS keel ${keel_modules} EXPORT KeelTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/keel DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT KeelTargets NAMESPACE Keel:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Keel)
configure_package_config_file(cmake/KeelConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/KeelConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Keel)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/KeelConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/KeelConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/KeelConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Keel)

# pkg-config: keel.pc, written at install time so that its prefix is the one installed to
# (`cmake --install --prefix P`, or the package's /usr). Outside the system library directories its
# Libs carry an RPATH, so a program linked with `pkg-config --libs keel` runs without LD_LIBRARY_PATH.
# --no-as-needed keeps the backend and autograd libraries, which register kernels and gradients on load.
get_target_property(keel_linked keel INTERFACE_LINK_LIBRARIES)
set(KEEL_PC_LIBS)
foreach(lib IN LISTS keel_linked)
  if(TARGET ${lib})
    string(APPEND KEEL_PC_LIBS "-l${lib} ")
  endif()
endforeach()
string(STRIP "${KEEL_PC_LIBS}" KEEL_PC_LIBS)
set(KEEL_PC_PREFIX "@KEEL_PC_PREFIX@")   # filled in at install time
set(KEEL_PC_RPATH "@KEEL_PC_RPATH@")
configure_file(cmake/keel.pc.in ${CMAKE_CURRENT_BINARY_DIR}/keel.pc.install @ONLY)
set(keel_system_lib_dirs ${CMAKE_PLATFORM_IMPLICIT_LINK_DIRECTORIES} ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES})
install(CODE "
  set(keel_system_lib_dirs \"${keel_system_lib_dirs}\")
  set(KEEL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(KEEL_PC_RPATH)
  list(FIND keel_system_lib_dirs \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}\" keel_system_index)
  if(keel_system_index EQUAL -1)   # install scripts run without policies: no IN_LIST
    set(KEEL_PC_RPATH \"-Wl,-rpath,\\\${libdir} \")
  endif()
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/keel.pc.install\"
                 \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/keel.pc\" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/keel.pc\")
")
