#!/bin/sh
# Installs kiln from the build tree into a temporary prefix, then builds a
# consumer against the installed copy twice: with pkg-config and with
# find_package(kiln). Both must build and run.
set -eu
build_dir=$1
source_dir=$2
prefix=$(mktemp -d /tmp/kiln-install-XXXXXX)
work=$(mktemp -d /tmp/kiln-consumer-XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/pkgconfig | head -1)
libdir=${libdir%/pkgconfig}

# pkg-config, shared library.
PKG_CONFIG_PATH="$libdir/pkgconfig" cc -std=c11 -o "$work/by-pkgconfig" \
    "$source_dir/tests/install/consumer/main.c" \
    $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs kiln)
LD_LIBRARY_PATH="$libdir" "$work/by-pkgconfig"

# CMake package.
cmake -S "$source_dir/tests/install/consumer" -B "$work/cmake-build" \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake-build/consumer"
echo "install: ok"
