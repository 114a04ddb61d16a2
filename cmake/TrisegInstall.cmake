# What `cmake --install` puts where (docs/development.md, Packaging). Included by the top
# CMakeLists.txt after cli/.
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

# `make install` installs what is built and builds nothing itself (like `cmake --install`):
# without this it would first build every target, the tests and benchmarks included. Build
# triseg first (scripts/build triseg).
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
