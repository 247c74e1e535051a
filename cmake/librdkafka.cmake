# Read by CMake while it configures librdkafka (rdkafka-sys's cmake-build), through
# CMAKE_TOOLCHAIN_FILE, which .cargo/config.toml sets for our builds; no other vendored C library is
# built with CMake.
#
# librdkafka 2.12's CMake build detects 32/64-bit atomics but never defines HAVE_ATOMICS_32_ATOMIC /
# HAVE_ATOMICS_64_ATOMIC, so rd_atomic32_set()/rd_atomic64_set() fall through to a plain store that
# returns the new value instead of the old one (fixed upstream in 2.15.0). librdkafka reads that
# return value to see "the last broker just went down": without it, error_cb never hears
# _ALL_BROKERS_DOWN and a client whose brokers all went away waits for
# metadata.recovery.rebootstrap.trigger.ms (5 min) before it re-bootstraps. Defining the two macros
# selects the __atomic_exchange_n implementation the mklove build uses; the C sources stay as they are.
# tests/test_librdkafka_fixes.py checks the effect.
add_compile_definitions(HAVE_ATOMICS_32_ATOMIC=1 HAVE_ATOMICS_64_ATOMIC=1)
