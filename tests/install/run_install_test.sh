#!/usr/bin/env bash
# run_install_test.sh BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR
# Installs Keel into a scratch prefix, then builds the consumer program twice, as users do: a CMake project
# with find_package(Keel), and one g++ line with `pkg-config --cflags --libs keel`. Both run without
# LD_LIBRARY_PATH (the installed libraries and keel.pc carry their RPATHs).
set -euo pipefail
build=$1 work=$2 consumer=$3
rm -rf "$work"
unset LD_LIBRARY_PATH
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer-build" >/dev/null
"$work/consumer-build/consumer"

pc_dir=$(dirname "$(find "$work/prefix" -name keel.pc)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs keel)
case "$flags" in *"-I$work/prefix/include"*) ;; *) echo "keel.pc does not point into the prefix: $flags" >&2; exit 1 ;; esac
g++ -std=c++20 -O1 "$consumer/main.cpp" -o "$work/consumer-pkg-config" $flags
"$work/consumer-pkg-config"
