# triseg_add_test(NAME SOURCES a.cpp ... LIBS lib ... [MPI_PROCS 1 2 3] [PCH] [OWN_MAIN] [SLOW]
#                 [SANITIZE])
#
# Plain tests: one gtest binary, each TEST registered with ctest (gtest_discover_tests).
# MPI tests: the binary has its own MPI-aware main (tests/mpi_main.cpp) and is registered
# once per rank count as `NAME.npN`, run by mpiexec with --oversubscribe.
# OWN_MAIN: a plain test whose sources define main() (for flags such as --regenerate).
# SLOW: every test of the binary gets the ctest label `slow` (it trains a model, runs the triseg
# binary end to end, or starts several MPI ranks); MPI tests on 2 or more ranks get it anyway.
# `ctest -LE slow` is the quick loop (docs/development.md, Tests).
# SANITIZE: a fast test without LibTorch that scripts/test-sanitize builds (target
# triseg_sanitize_tests) and runs (ctest label `sanitize`) under AddressSanitizer and
# UndefinedBehaviorSanitizer.
include(GoogleTest)
add_custom_target(triseg_sanitize_tests)

function(triseg_add_test name)
  cmake_parse_arguments(T "PCH;OWN_MAIN;SLOW;SANITIZE" "" "SOURCES;LIBS;MPI_PROCS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} triseg_warnings)
  target_compile_definitions(${name} PRIVATE
    TRISEG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TRISEG_BINARY="$<TARGET_FILE:triseg>")
  if(T_PCH)
    triseg_torch_pch(${name})
  endif()
  if(T_MPI_PROCS)
    target_link_libraries(${name} PRIVATE GTest::gtest MPI::MPI_CXX)
    foreach(np IN LISTS T_MPI_PROCS)
      add_test(NAME ${name}.np${np}
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe
                       ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
      set_tests_properties(${name}.np${np} PROPERTIES
        ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1"
        PROCESSORS ${np})
      if(T_SLOW OR np GREATER 1)
        set_tests_properties(${name}.np${np} PROPERTIES LABELS slow)
      endif()
    endforeach()
  else()
    if(T_OWN_MAIN)
      target_link_libraries(${name} PRIVATE GTest::gtest)
    else()
      target_link_libraries(${name} PRIVATE GTest::gtest GTest::gtest_main)
    endif()
    set(labels "")
    if(T_SLOW)
      list(APPEND labels slow)
    endif()
    if(T_SANITIZE)
      list(APPEND labels sanitize)
      add_dependencies(triseg_sanitize_tests ${name})
    endif()
    if(labels)
      gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                           PROPERTIES LABELS "${labels}")
    else()
      gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60)
    endif()
  endif()
endfunction()
