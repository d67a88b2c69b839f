# The Debian package: `cpack -G DEB` in a build tree configured by scripts/package gives
# keel_<version>_<arch>.deb (libraries, headers, the CMake package, keel.pc, keel-launch).
# Depends: the runtime libraries, computed by dpkg-shlibdeps from what the libraries link, plus the -dev
# packages that find_package(Keel) and the public headers need.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME keel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Keras programming model in C++ (CPU build, oneDNN kernels)")
set(CPACK_PACKAGE_DESCRIPTION "Keel gives C++ programs Keras's Sequential and functional models, layers,
losses, metrics, optimizers, callbacks and fit/evaluate/predict, with oneDNN kernels on the CPU and
TensorFlow's distribution strategies over Gloo and Open MPI. Use it from CMake with find_package(Keel)
and the Keel::keel target, or with pkg-config (keel).")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "The Keel developers")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# nlohmann_json: public headers include <nlohmann/json_fwd.hpp>, and KeelConfig.cmake finds it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "nlohmann-json3-dev")

# A package is installed on other machines: refuse build trees compiled for this machine's CPU, or with
# the CUDA backend (the CUDA toolkit here is not a Debian package, so Depends: could not name it).
if(KEEL_NATIVE_ARCH OR KEEL_WITH_CUDA)
  set(keel_refuse ${CMAKE_BINARY_DIR}/keel-package-refuse.cmake)
  file(WRITE ${keel_refuse} "message(FATAL_ERROR \"Keel: this build tree is configured with "
    "KEEL_NATIVE_ARCH=${KEEL_NATIVE_ARCH} (-march=native) and KEEL_WITH_CUDA=${KEEL_WITH_CUDA}; a .deb must run "
    "on any x86-64 machine and name all its dependencies as Debian packages. Build it with scripts/package "
    "(KEEL_NATIVE_ARCH=OFF, KEEL_WITH_CUDA=OFF, CMAKE_INSTALL_PREFIX=/usr).\")\n")
  set(CPACK_PRE_BUILD_SCRIPTS ${keel_refuse})
endif()
include(CPack)
