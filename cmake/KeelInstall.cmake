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
