# What `cmake --install` puts where, and the Debian package `cpack -G DEB` makes of it
# (docs/development.md, Packaging). Included by the top CMakeLists.txt after cli/.
#
#   <prefix>/bin/triseg
#   <prefix>/share/triseg/report/   the figures scripts `triseg report --html` runs; the binary
#                                   finds them relative to itself (cli/CMakeLists.txt)
#   <prefix>/share/triseg/jobs/     the SLURM jobs and jobs/common.sh, which they source
#   <prefix>/share/triseg/configs/  the configs; the jobs' default CONFIG is ../configs/ of their
#                                   folder, as in the repository
#
# Nothing else is installed: the libraries are static and linked into triseg, and the tests and
# benchmarks stay in the build folder.

# `cmake --install` and cpack package what is built and build nothing themselves: without this,
# cpack (and `make install`) would first build every target, the tests and benchmarks included.
# Build triseg first (scripts/build triseg).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS triseg RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS scripts/report/report_html.py DESTINATION ${TRISEG_INSTALL_DATADIR}/report)
install(FILES scripts/report/report_data.py scripts/report/report_figures.py
        DESTINATION ${TRISEG_INSTALL_DATADIR}/report)
install(PROGRAMS jobs/pipeline.sbatch jobs/replay.sbatch jobs/report.sbatch jobs/search.sbatch
                 jobs/sweep.sbatch jobs/study
        DESTINATION ${TRISEG_INSTALL_DATADIR}/jobs)
install(FILES jobs/common.sh DESTINATION ${TRISEG_INSTALL_DATADIR}/jobs)
install(FILES configs/cifar10-resnet18.yaml configs/cifar10-vgg16.yaml
              configs/fmnist-mobilenetv2.yaml configs/fmnist-resnet20.yaml
              configs/fmnist-vgg16.yaml configs/tiny.yaml
        DESTINATION ${TRISEG_INSTALL_DATADIR}/configs)

# The Debian package: `cd build && cpack -G DEB` writes triseg_<version>_<arch>.deb, installing
# under /usr. dpkg-shlibdeps derives the library packages (libtorch, Open MPI, HDF5, yaml-cpp,
# pagmo2, Boost) from the binary; the rest are what the package runs besides its binary.
set(CPACK_PACKAGE_NAME triseg)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "tri-segment approximation search for the activations of INT8 CNNs")
set(CPACK_PACKAGE_DESCRIPTION
    "triseg searches per-layer tri-segment approximations of the uint8 activation codes of an
INT8-quantized CNN (PPO, random, Lloyd-Max, pagmo2 methods, a supervised STE baseline) over MPI
ranks, with exact integer inference, SLURM jobs (share/triseg/jobs) and a figures report.")
set(CPACK_PACKAGE_CONTACT "triseg maintainers <maintainers@users.noreply.r-seed-8382b715.example>")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# python3 with matplotlib and h5py draws `report --html`; mpirun launches searches off SLURM.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3, python3-matplotlib, python3-h5py, openmpi-bin")
# The configs' default data (data.root); SLURM for the jobs.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "slurm-client")
include(CPack)
